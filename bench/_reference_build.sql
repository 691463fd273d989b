-- The named baseline of bench_build.py: exposure, student_months and student_terms straight
-- from the canonical tables, in plain DuckDB SQL (default settings), written the way a
-- competent engineer would by hand: everything that depends only on the lesson (its school,
-- term, teachers and their register entries, per grade band whether one is certified) is
-- computed once per lesson, the pupils are joined late, the pupil-lessons are kept once in a
-- lean table (keys, minutes, grade, registration) and read in two grouped passes (per pupil ×
-- term × subject × activity, and per pupil × day), plus one pass joined to the lessons'
-- teachers. The canonical tables are views of the same name; the script leaves three tables,
-- exposure, student_months and student_terms (sums of minutes as BIGINT: DuckDB sums integers
-- to HUGEINT, which Parquet would store as DOUBLE).
--
-- Definitions (docs/reference/indicators.md): only held lessons count. A lesson's pupils are
-- its activity's group members on the lesson's day, plus those a student exception adds, minus
-- those it removes; a pupil's minutes are the exception's teaching length, else the lesson's
-- teaching length for students, else end - start. Its teachers are the activity's teachers
-- assigned that day, plus those an exception adds (a substitute when not assigned), minus
-- those it removes. Shares and rates are null when their denominator is not positive.

-- Held lessons: one row each, with everything that does not depend on the pupil.
CREATE TEMP TABLE held AS
SELECT
    l.lesson_pid, l.activity_pid, l.local_date, l.start_time,
    coalesce(l.teaching_length_student, l.minutes) AS lesson_minutes,
    a.school_code, s.subject_code,
    year(l.local_date) - (month(l.local_date) < 7)::INT AS school_year,
    year(l.local_date)::VARCHAR || CASE WHEN month(l.local_date) >= 7 THEN 'HT' ELSE 'VT' END
        AS term,
    strftime(l.local_date, '%Y-%m') AS month
FROM lessons l
JOIN activities a USING (activity_pid)
LEFT JOIN syllabuses s USING (syllabus_pid)
WHERE NOT l.cancelled;

-- One row per teacher and held lesson.
CREATE TEMP TABLE lesson_teacher AS
WITH assigned AS (
    SELECT DISTINCT h.lesson_pid, t.teacher_pid, true AS assigned
    FROM held h
    JOIN activity_teachers t USING (activity_pid)
    WHERE coalesce(t.start_date <= h.local_date, true)
      AND coalesce(h.local_date <= t.end_date, true)
),
exception AS (
    SELECT lesson_pid, teacher_pid,
           bool_or(participates) AS added, bool_or(NOT participates) AS removed
    FROM lesson_teacher_exceptions
    WHERE lesson_pid IN (SELECT lesson_pid FROM held)
    GROUP BY ALL
)
SELECT lesson_pid, teacher_pid, a.assigned IS NULL AS substitute
FROM assigned a
FULL JOIN exception e USING (lesson_pid, teacher_pid)
WHERE (a.assigned OR e.added) AND NOT coalesce(e.removed, false);

-- The lesson's staffing, once per lesson: how many teachers, substitute, licensed,
-- experience, novice, new to the school, and per grade band whether a teacher of the lesson
-- is certified in its subject for that band.
CREATE TEMP TABLE lesson AS
WITH staffing AS (
    SELECT
        lt.lesson_pid,
        count(DISTINCT lt.teacher_pid) AS teachers,
        bool_or(lt.substitute) AS substitute,
        bool_or(r.legitimated) AS legitimated,
        avg(r.experience_years) AS mean_experience,
        bool_or(r.experience_years < 3) AS novice,
        bool_or(r.arrival_year >= h.school_year) AS new_to_school
    FROM lesson_teacher lt
    JOIN held h USING (lesson_pid)
    LEFT JOIN teacher_register r USING (teacher_pid)
    GROUP BY lt.lesson_pid
),
certified AS (
    SELECT lt.lesson_pid,
           bool_or(c.grade_band = 'F-3') AS certified_f3,
           bool_or(c.grade_band = '4-6') AS certified_46,
           bool_or(c.grade_band = '7-9') AS certified_79
    FROM lesson_teacher lt
    JOIN held h USING (lesson_pid)
    JOIN teacher_certifications c
      ON c.teacher_pid = lt.teacher_pid AND c.subject_code = h.subject_code
    GROUP BY lt.lesson_pid
)
SELECT
    h.*,
    coalesce(s.teachers, 0) AS teachers,
    coalesce(s.substitute, false) AS substitute,
    coalesce(s.legitimated, false) AS legitimated,
    s.mean_experience,
    coalesce(s.novice, false) AS novice,
    coalesce(s.new_to_school, false) AS new_to_school,
    coalesce(c.certified_f3, false) AS certified_f3,
    coalesce(c.certified_46, false) AS certified_46,
    coalesce(c.certified_79, false) AS certified_79
FROM held h
LEFT JOIN staffing s USING (lesson_pid)
LEFT JOIN certified c USING (lesson_pid);

-- One row per pupil and held lesson, lean: the keys, the pupil's minutes and grade, and the
-- registration. Everything about the lesson is joined from `lesson` where it is needed.
CREATE TEMP TABLE seat AS
WITH exception AS (
    SELECT lesson_pid, student_pid,
           bool_or(participates) AS added, bool_or(NOT participates) AS removed,
           max(teaching_length) AS own_minutes
    FROM lesson_student_exceptions
    GROUP BY ALL
),
seated AS (
    SELECT h.lesson_pid, m.student_pid
    FROM held h
    JOIN activity_groups USING (activity_pid)
    JOIN group_memberships m USING (group_pid)
    WHERE coalesce(m.start_date <= h.local_date, true)
      AND coalesce(h.local_date <= m.end_date, true)
    UNION
    SELECT lesson_pid, student_pid
    FROM exception
    WHERE added
),
kept AS (
    SELECT s.lesson_pid, s.student_pid, coalesce(e.own_minutes, h.lesson_minutes) AS minutes,
           h.school_code, h.local_date
    FROM seated s
    JOIN held h USING (lesson_pid)
    LEFT JOIN exception e USING (lesson_pid, student_pid)
    WHERE NOT coalesce(e.removed, false)
),
graded AS (
    -- the pupil's enrolment grade at the lesson's school that day (the highest, if several)
    SELECT k.lesson_pid, k.student_pid, any_value(k.minutes) AS minutes, max(e.grade) AS grade
    FROM kept k
    LEFT JOIN enrolments e
      ON e.student_pid = k.student_pid AND e.school_code = k.school_code
     AND coalesce(e.start_date <= k.local_date, true)
     AND coalesce(k.local_date <= e.end_date, true)
    GROUP BY k.lesson_pid, k.student_pid
)
SELECT
    g.student_pid, g.lesson_pid, g.minutes, g.grade,
    coalesce(a.reported, false) AS reported,
    a.present_minutes, a.valid_absence_minutes, a.invalid_absence_minutes, a.other_minutes
FROM graded g
LEFT JOIN attendance a USING (lesson_pid, student_pid);

-- Pass 1 over the pupil-lessons: per pupil × term × subject × school × activity, every sum
-- exposure needs, the first and last lesson (for teacher replacement) and the highest grade.
CREATE TEMP TABLE per_activity AS
SELECT
    s.student_pid, l.term, l.subject_code, l.school_code, l.activity_pid,
    count(*) AS lessons,
    sum(s.minutes) AS minutes,
    sum(s.minutes) FILTER (WHERE CASE WHEN s.grade <= 3 THEN l.certified_f3
                                      WHEN s.grade <= 6 THEN l.certified_46
                                      WHEN s.grade <= 9 THEN l.certified_79 END)
        AS certified_minutes,
    sum(s.minutes) FILTER (WHERE l.legitimated) AS legitimated_minutes,
    sum(s.minutes) FILTER (WHERE l.novice) AS novice_minutes,
    sum(s.minutes) FILTER (WHERE l.new_to_school) AS new_teacher_minutes,
    sum(s.minutes) FILTER (WHERE l.teachers >= 2) AS two_teacher_minutes,
    sum(s.minutes) FILTER (WHERE l.substitute) AS substitute_minutes,
    sum(s.minutes) FILTER (WHERE l.mean_experience IS NOT NULL) AS experience_weight,
    sum(l.mean_experience * s.minutes) AS experience_sum,
    count(*) FILTER (WHERE s.reported) AS reported_lessons,
    sum(s.minutes) FILTER (WHERE s.reported) AS reported_minutes,
    sum(coalesce(s.valid_absence_minutes, 0) + coalesce(s.invalid_absence_minutes, 0))
        FILTER (WHERE s.reported) AS absent_minutes,
    min(l.start_time) AS first_start,
    max(l.start_time) AS last_start,
    max(s.grade) AS grade
FROM seat s
JOIN lesson l USING (lesson_pid)
GROUP BY ALL;

-- Pass 2, the pupil-lessons joined to their teachers: per pupil × term × subject × school ×
-- activity × teacher, the minutes together and the regular (non-substitute) lessons' span.
CREATE TEMP TABLE per_teacher AS
SELECT
    s.student_pid, l.term, l.subject_code, l.school_code, l.activity_pid, lt.teacher_pid,
    sum(s.minutes) AS minutes,
    min(l.start_time) FILTER (WHERE NOT lt.substitute) AS since,
    max(l.start_time) FILTER (WHERE NOT lt.substitute) AS until
FROM seat s
JOIN lesson l USING (lesson_pid)
JOIN lesson_teacher lt USING (lesson_pid)
GROUP BY ALL;

-- Per pupil × term × subject: the teachers the pupil met, shares of minutes, absence.
CREATE TABLE exposure AS
WITH by_school AS (
    SELECT student_pid, term, subject_code, school_code,
           sum(lessons) AS lessons, sum(minutes) AS minutes,
           sum(certified_minutes) AS certified_minutes,
           sum(legitimated_minutes) AS legitimated_minutes,
           sum(novice_minutes) AS novice_minutes,
           sum(new_teacher_minutes) AS new_teacher_minutes,
           sum(two_teacher_minutes) AS two_teacher_minutes,
           sum(substitute_minutes) AS substitute_minutes,
           sum(experience_weight) AS experience_weight,
           sum(experience_sum) AS experience_sum,
           sum(reported_lessons) AS reported_lessons,
           sum(reported_minutes) AS reported_minutes,
           sum(absent_minutes) AS absent_minutes,
           min(first_start) AS first_start,
           max(grade) AS grade
    FROM per_activity
    GROUP BY ALL
),
totals AS (
    SELECT student_pid, term, subject_code,
           sum(lessons)::BIGINT AS lessons, sum(minutes)::BIGINT AS minutes,
           coalesce(sum(certified_minutes), 0)::BIGINT AS certified_minutes,
           coalesce(sum(legitimated_minutes), 0)::BIGINT AS legitimated_minutes,
           coalesce(sum(novice_minutes), 0)::BIGINT AS novice_minutes,
           coalesce(sum(new_teacher_minutes), 0)::BIGINT AS new_teacher_minutes,
           coalesce(sum(two_teacher_minutes), 0) AS two_teacher_minutes,
           coalesce(sum(substitute_minutes), 0)::BIGINT AS substitute_minutes,
           coalesce(sum(experience_weight), 0) AS experience_weight,
           sum(experience_sum) AS experience_sum,
           sum(reported_lessons)::BIGINT AS reported_lessons,
           coalesce(sum(reported_minutes), 0) AS reported_minutes,
           coalesce(sum(absent_minutes), 0) AS absent_minutes,
           min(first_start) AS first_start
    FROM by_school
    GROUP BY ALL
),
main_school AS (
    -- the school with most minutes (ties: the lowest code), the pupil's highest grade there
    SELECT student_pid, term, subject_code, school_code, grade
    FROM by_school
    QUALIFY row_number() OVER (PARTITION BY student_pid, term, subject_code
                               ORDER BY minutes DESC, school_code) = 1
),
teacher AS (
    SELECT student_pid, term, subject_code, teacher_pid,
           sum(minutes) AS teacher_minutes, min(since) AS first_regular
    FROM per_teacher
    GROUP BY ALL
),
met AS (
    SELECT student_pid, term, subject_code,
           count(*) AS teachers,
           max(teacher_minutes) AS main_teacher_minutes,
           count(*) FILTER (WHERE first_regular > first_start) AS teacher_switches
    FROM teacher
    JOIN totals USING (student_pid, term, subject_code)
    GROUP BY ALL
),
-- turnover: a regular teacher's lessons with the pupil on an activity stopped before the
-- pupil's last lesson on it, and another's began after the first's began, after the pupil's
-- first lesson, and ended later; or a regular teacher of the term before at the school taught
-- no held lesson there this term, while the pupil has the subject there this term
run AS (
    SELECT student_pid, term, subject_code, school_code, activity_pid, p.teacher_pid,
           p.since, p.until, a.first_start, a.last_start
    FROM per_teacher p
    JOIN per_activity a USING (student_pid, term, subject_code, school_code, activity_pid)
    WHERE p.since IS NOT NULL
),
replaced AS (
    SELECT DISTINCT o.student_pid, o.term, o.subject_code
    FROM run o
    JOIN run n USING (student_pid, term, subject_code, school_code, activity_pid)
    WHERE o.until < o.last_start AND n.since > n.first_start
      AND n.teacher_pid <> o.teacher_pid AND n.since > o.since AND n.until > o.until
),
present AS (
    SELECT DISTINCT lt.teacher_pid, h.school_code, h.term
    FROM lesson_teacher lt
    JOIN held h USING (lesson_pid)
),
carried AS (
    SELECT DISTINCT student_pid, subject_code, school_code, teacher_pid,
           CASE WHEN term LIKE '%HT' THEN (left(term, 4)::INT + 1)::VARCHAR || 'VT'
                ELSE left(term, 4) || 'HT' END AS term
    FROM run
),
left_school AS (
    SELECT DISTINCT c.student_pid, c.term, c.subject_code
    FROM carried c
    WHERE EXISTS (SELECT 1 FROM by_school b
                  WHERE b.student_pid = c.student_pid AND b.term = c.term
                    AND b.subject_code = c.subject_code AND b.school_code = c.school_code)
      AND NOT EXISTS (SELECT 1 FROM present p
                      WHERE p.teacher_pid = c.teacher_pid AND p.school_code = c.school_code
                        AND p.term = c.term)
)
SELECT
    student_pid, term, subject_code, s.school_code, s.grade,
    CASE WHEN s.grade <= 3 THEN 'F-3' WHEN s.grade <= 6 THEN '4-6'
         WHEN s.grade <= 9 THEN '7-9' END AS grade_band,
    t.lessons, t.minutes,
    coalesce(m.teachers, 0) AS teachers,
    CASE WHEN t.minutes > 0 THEN coalesce(m.main_teacher_minutes, 0) / t.minutes END
        AS main_teacher_share,
    coalesce(m.teacher_switches, 0) AS teacher_switches,
    r.student_pid IS NOT NULL OR ls.student_pid IS NOT NULL AS turnover_hit,
    CASE WHEN t.minutes > 0 THEN t.certified_minutes / t.minutes END AS certified_share,
    CASE WHEN t.minutes > 0 THEN t.legitimated_minutes / t.minutes END AS legitimated_share,
    CASE WHEN t.experience_weight > 0 THEN t.experience_sum / t.experience_weight END
        AS mean_experience,
    CASE WHEN t.minutes > 0 THEN t.novice_minutes / t.minutes END AS novice_share,
    CASE WHEN t.minutes > 0 THEN t.new_teacher_minutes / t.minutes END AS new_teacher_share,
    CASE WHEN t.minutes > 0 THEN t.two_teacher_minutes / t.minutes END AS two_teacher_share,
    CASE WHEN t.minutes > 0 THEN t.substitute_minutes / t.minutes END AS substitute_share,
    t.certified_minutes, t.legitimated_minutes, t.novice_minutes, t.new_teacher_minutes,
    t.substitute_minutes,
    CASE WHEN t.lessons > 0 THEN t.reported_lessons / t.lessons END AS reported_share,
    CASE WHEN t.reported_minutes > 0 THEN t.absent_minutes / t.reported_minutes END
        AS absence_rate_reported,
    CASE WHEN t.minutes > 0 THEN t.absent_minutes / t.minutes END AS absence_rate_planned
FROM totals t
JOIN main_school s USING (student_pid, term, subject_code)
LEFT JOIN met m USING (student_pid, term, subject_code)
LEFT JOIN replaced r USING (student_pid, term, subject_code)
LEFT JOIN left_school ls USING (student_pid, term, subject_code);

-- Pass 3 over the pupil-lessons: per pupil × school × day, what the absence tables sum.
CREATE TEMP TABLE pupil_day AS
SELECT
    s.student_pid, l.local_date, l.school_code, any_value(l.term) AS term,
    any_value(l.month) AS month,
    max(s.grade) AS grade,
    count(*) AS lessons,
    count(*) FILTER (WHERE s.reported) AS reported_lessons,
    sum(s.minutes) AS planned_minutes,
    coalesce(sum(s.minutes) FILTER (WHERE s.reported), 0) AS reported_minutes,
    coalesce(sum(s.valid_absence_minutes) FILTER (WHERE s.reported), 0)
        AS valid_absence_minutes,
    coalesce(sum(s.invalid_absence_minutes) FILTER (WHERE s.reported), 0)
        AS invalid_absence_minutes,
    coalesce(sum(coalesce(s.present_minutes, 0) + coalesce(s.other_minutes, 0))
             FILTER (WHERE s.reported), 0) AS attended
FROM seat s
JOIN lesson l USING (lesson_pid)
GROUP BY s.student_pid, l.local_date, l.school_code;

-- Per pupil × month and per pupil × term: sums, the main school (most planned minutes; ties:
-- the lowest code) with the highest grade there, and the days absent (a day with a reported
-- lesson, at any school, and no attended minutes).
CREATE TEMP TABLE period_sums AS
WITH periods AS (
    SELECT *, 'month' AS kind, month AS period FROM pupil_day
    UNION ALL
    SELECT *, 'term' AS kind, term AS period FROM pupil_day
),
by_school AS (
    SELECT kind, student_pid, period, school_code,
           max(term) AS term, max(grade) AS grade,
           sum(lessons) AS lessons, sum(reported_lessons) AS reported_lessons,
           sum(planned_minutes) AS planned_minutes, sum(reported_minutes) AS reported_minutes,
           sum(valid_absence_minutes) AS valid_absence_minutes,
           sum(invalid_absence_minutes) AS invalid_absence_minutes
    FROM periods
    GROUP BY ALL
),
main_school AS (
    SELECT kind, student_pid, period, school_code, grade
    FROM by_school
    QUALIFY row_number() OVER (PARTITION BY kind, student_pid, period
                               ORDER BY planned_minutes DESC, school_code) = 1
),
days AS (
    SELECT kind, student_pid, period,
           count(*) FILTER (WHERE reported_lessons > 0 AND attended = 0) AS days_absent
    FROM (SELECT kind, student_pid, period, local_date,
                 sum(reported_lessons) AS reported_lessons, sum(attended) AS attended
          FROM periods GROUP BY ALL)
    GROUP BY ALL
)
SELECT
    kind, student_pid, period, m.school_code, m.grade, max(b.term) AS term,
    sum(b.lessons)::BIGINT AS lessons, sum(b.reported_lessons)::BIGINT AS reported_lessons,
    sum(b.planned_minutes)::BIGINT AS planned_minutes,
    sum(b.reported_minutes)::BIGINT AS reported_minutes,
    sum(b.valid_absence_minutes)::BIGINT AS valid_absence_minutes,
    sum(b.invalid_absence_minutes)::BIGINT AS invalid_absence_minutes,
    any_value(d.days_absent) AS days_absent
FROM by_school b
JOIN main_school m USING (kind, student_pid, period)
JOIN days d USING (kind, student_pid, period)
GROUP BY kind, student_pid, period, m.school_code, m.grade;

CREATE MACRO absence_band(absent, reported) AS
    CASE WHEN reported IS NULL OR reported <= 0 OR absent IS NULL THEN NULL
         WHEN absent * 100 >= reported * 50 THEN '>=50%'
         WHEN absent * 100 >= reported * 20 THEN '20-50%'
         WHEN absent * 100 >= reported * 10 THEN '10-20%'
         WHEN absent * 100 >= reported * 5 THEN '5-10%'
         ELSE '<5%' END;

-- Public keys of a pupil and a school: the pupil's sex as the school system records it
-- (Kvinna, Man, else Okänt) and the school's organiser type (unknown where its school units
-- disagree or have none, or the school is not in the schools table).
CREATE TEMP TABLE pupil_sex AS
SELECT student_pid,
       max(CASE WHEN sex IN ('Kvinna', 'Man') THEN sex ELSE 'Okänt' END) AS sex
FROM students
GROUP BY student_pid;

CREATE TEMP TABLE school_organiser AS
SELECT school_code,
       CASE WHEN count(DISTINCT organiser_type) = 1
            THEN max(organiser_type) ELSE 'unknown' END AS organiser_type
FROM schools
GROUP BY school_code;

CREATE TABLE student_months AS
SELECT
    student_pid, period AS month, term, school_code, grade,
    coalesce(x.sex, 'Okänt') AS sex, coalesce(o.organiser_type, 'unknown') AS organiser_type,
    lessons, reported_lessons, planned_minutes, reported_minutes,
    valid_absence_minutes, invalid_absence_minutes,
    valid_absence_minutes + invalid_absence_minutes AS absent_minutes,
    CASE WHEN reported_minutes > 0
         THEN (valid_absence_minutes + invalid_absence_minutes) / reported_minutes END
        AS absence_rate_reported,
    CASE WHEN planned_minutes > 0
         THEN (valid_absence_minutes + invalid_absence_minutes) / planned_minutes END
        AS absence_rate_planned,
    absence_band(valid_absence_minutes + invalid_absence_minutes, reported_minutes)
        AS absence_band,
    CASE WHEN reported_minutes > 0 THEN valid_absence_minutes / reported_minutes END
        AS valid_absence_rate,
    CASE WHEN reported_minutes > 0 THEN invalid_absence_minutes / reported_minutes END
        AS invalid_absence_rate,
    CASE WHEN lessons > 0 THEN reported_lessons / lessons END AS reported_share,
    days_absent,
    CASE WHEN reported_minutes > 0
         THEN (valid_absence_minutes + invalid_absence_minutes) * 100 > reported_minutes * 20
    END AS over_20_percent
FROM period_sums
LEFT JOIN pupil_sex x USING (student_pid)
LEFT JOIN school_organiser o USING (school_code)
WHERE kind = 'month';

CREATE TABLE student_terms AS
WITH alert AS (
    SELECT student_pid, term AS period, bool_or(coalesce(over_20_percent, false))
        AS any_month_over_20_percent
    FROM student_months
    GROUP BY ALL
)
SELECT
    student_pid, period AS term, p.school_code, p.grade,
    coalesce(x.sex, 'Okänt') AS sex, coalesce(o.organiser_type, 'unknown') AS organiser_type,
    p.lessons, p.reported_lessons, p.planned_minutes, p.reported_minutes,
    p.valid_absence_minutes, p.invalid_absence_minutes,
    p.valid_absence_minutes + p.invalid_absence_minutes AS absent_minutes,
    CASE WHEN p.reported_minutes > 0
         THEN (p.valid_absence_minutes + p.invalid_absence_minutes) / p.reported_minutes END
        AS absence_rate_reported,
    CASE WHEN p.planned_minutes > 0
         THEN (p.valid_absence_minutes + p.invalid_absence_minutes) / p.planned_minutes END
        AS absence_rate_planned,
    absence_band(p.valid_absence_minutes + p.invalid_absence_minutes, p.reported_minutes)
        AS absence_band,
    CASE WHEN p.reported_minutes > 0 THEN p.valid_absence_minutes / p.reported_minutes END
        AS valid_absence_rate,
    CASE WHEN p.reported_minutes > 0 THEN p.invalid_absence_minutes / p.reported_minutes END
        AS invalid_absence_rate,
    CASE WHEN p.lessons > 0 THEN p.reported_lessons / p.lessons END AS reported_share,
    CASE WHEN p.reported_minutes > 0
         THEN (p.valid_absence_minutes + p.invalid_absence_minutes) * 100
              >= p.reported_minutes * 10 END AS persistent_absence,
    CASE WHEN p.reported_minutes > 0
         THEN (p.valid_absence_minutes + p.invalid_absence_minutes) * 100
              >= p.reported_minutes * 50 END AS severe_absence,
    a.any_month_over_20_percent,
    p.days_absent,
    p.days_absent >= 15 AS many_days_absent,
    r.merit_value,
    CASE WHEN r.merit_value IS NULL THEN NULL
         WHEN r.merit_value >= 280 THEN '>=280' WHEN r.merit_value >= 240 THEN '240-280'
         WHEN r.merit_value >= 200 THEN '200-240' WHEN r.merit_value >= 160 THEN '160-200'
         WHEN r.merit_value >= 100 THEN '100-160' ELSE '<100' END AS merit_band
FROM period_sums p
JOIN alert a USING (student_pid, period)
LEFT JOIN student_register r USING (student_pid)
LEFT JOIN pupil_sex x USING (student_pid)
LEFT JOIN school_organiser o ON o.school_code = p.school_code
WHERE p.kind = 'term';
