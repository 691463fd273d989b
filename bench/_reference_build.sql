-- The named baseline of bench_build.py: exposure and student_terms straight from the canonical
-- tables, in plain DuckDB SQL (default settings). The canonical tables are views of the same
-- name; the script leaves two tables, exposure and student_terms (sums of minutes as BIGINT:
-- DuckDB sums integers to HUGEINT, which Parquet would store as DOUBLE).
--
-- Definitions (docs/reference/indicators.md): only held lessons count. A lesson's pupils are
-- its activity's group members on the lesson's day, plus those a student exception adds, minus
-- those it removes; a pupil's minutes are the exception's teaching length, else the lesson's
-- teaching length for students, else end - start. Its teachers are the activity's teachers
-- assigned that day, plus those an exception adds (a substitute when not assigned), minus
-- those it removes. Shares and rates are null when their denominator is not positive.

-- Held lessons with their school, subject, term and month.
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

-- One row per pupil and held lesson, with what the two tables need.
CREATE TEMP TABLE pupil_lesson AS
WITH member AS (
    SELECT DISTINCT h.lesson_pid, m.student_pid, true AS member
    FROM held h
    JOIN activity_groups USING (activity_pid)
    JOIN group_memberships m USING (group_pid)
    WHERE coalesce(m.start_date <= h.local_date, true)
      AND coalesce(h.local_date <= m.end_date, true)
),
exception AS (
    SELECT lesson_pid, student_pid,
           bool_or(participates) AS added, bool_or(NOT participates) AS removed,
           max(teaching_length) AS own_minutes
    FROM lesson_student_exceptions
    GROUP BY ALL
),
seated AS (
    SELECT lesson_pid, student_pid, e.own_minutes
    FROM member p
    FULL JOIN exception e USING (lesson_pid, student_pid)
    WHERE (p.member OR e.added) AND NOT coalesce(e.removed, false)
),
pupil AS (
    SELECT s.student_pid, h.*, coalesce(s.own_minutes, h.lesson_minutes) AS minutes
    FROM seated s
    JOIN held h USING (lesson_pid)
),
grade AS (
    SELECT p.lesson_pid, p.student_pid, max(e.grade) AS grade
    FROM pupil p
    JOIN enrolments e
      ON e.student_pid = p.student_pid AND e.school_code = p.school_code
     AND coalesce(e.start_date <= p.local_date, true)
     AND coalesce(p.local_date <= e.end_date, true)
    GROUP BY ALL
),
staffing AS (
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
    SELECT DISTINCT lt.lesson_pid, c.grade_band
    FROM lesson_teacher lt
    JOIN held h USING (lesson_pid)
    JOIN teacher_certifications c
      ON c.teacher_pid = lt.teacher_pid AND c.subject_code = h.subject_code
),
banded AS (
    SELECT p.*, g.grade,
           CASE WHEN g.grade <= 3 THEN 'F-3' WHEN g.grade <= 6 THEN '4-6'
                WHEN g.grade <= 9 THEN '7-9' END AS grade_band
    FROM pupil p
    LEFT JOIN grade g USING (lesson_pid, student_pid)
)
SELECT
    b.student_pid, b.lesson_pid, b.school_code, b.subject_code, b.grade, b.term, b.month,
    b.local_date, b.start_time, b.minutes,
    coalesce(a.reported, false) AS reported,
    a.present_minutes, a.valid_absence_minutes, a.invalid_absence_minutes, a.other_minutes,
    coalesce(s.teachers, 0) AS teachers,
    coalesce(s.substitute, false) AS substitute,
    c.grade_band IS NOT NULL AS certified,
    coalesce(s.legitimated, false) AS legitimated,
    s.mean_experience,
    coalesce(s.novice, false) AS novice,
    coalesce(s.new_to_school, false) AS new_to_school
FROM banded b
LEFT JOIN staffing s USING (lesson_pid)
LEFT JOIN certified c USING (lesson_pid, grade_band)
LEFT JOIN attendance a USING (lesson_pid, student_pid);

-- Per pupil × term × subject: the teachers the pupil met, shares of minutes, absence.
CREATE TABLE exposure AS
WITH totals AS (
    SELECT
        student_pid, term, subject_code,
        count(*) AS lessons,
        sum(minutes)::BIGINT AS minutes,
        sum(CASE WHEN certified THEN minutes ELSE 0 END) AS certified_minutes,
        sum(CASE WHEN legitimated THEN minutes ELSE 0 END) AS legitimated_minutes,
        sum(CASE WHEN novice THEN minutes ELSE 0 END) AS novice_minutes,
        sum(CASE WHEN new_to_school THEN minutes ELSE 0 END) AS new_teacher_minutes,
        sum(CASE WHEN teachers >= 2 THEN minutes ELSE 0 END) AS two_teacher_minutes,
        sum(CASE WHEN substitute THEN minutes ELSE 0 END) AS substitute_minutes,
        sum(CASE WHEN mean_experience IS NOT NULL THEN minutes ELSE 0 END)
            AS experience_weight,
        sum(mean_experience * minutes) AS experience_sum,
        count(*) FILTER (WHERE reported) AS reported_lessons,
        sum(CASE WHEN reported THEN minutes ELSE 0 END) AS reported_minutes,
        sum(CASE WHEN reported
                 THEN coalesce(valid_absence_minutes, 0) + coalesce(invalid_absence_minutes, 0)
                 ELSE 0 END) AS absent_minutes,
        min(start_time) AS first_start
    FROM pupil_lesson
    GROUP BY ALL
),
main_school AS (
    -- the school with most minutes (ties: the lowest code), the pupil's highest grade there
    SELECT student_pid, term, subject_code, school_code, max(grade) AS grade
    FROM pupil_lesson
    GROUP BY student_pid, term, subject_code, school_code
    QUALIFY row_number() OVER (PARTITION BY student_pid, term, subject_code
                               ORDER BY sum(minutes) DESC, school_code) = 1
),
per_teacher AS (
    SELECT p.student_pid, p.term, p.subject_code, lt.teacher_pid,
           sum(p.minutes) AS teacher_minutes,
           min(p.start_time) FILTER (WHERE NOT lt.substitute) AS first_regular
    FROM pupil_lesson p
    JOIN lesson_teacher lt USING (lesson_pid)
    GROUP BY ALL
),
met AS (
    SELECT student_pid, term, subject_code,
           count(DISTINCT teacher_pid) AS teachers,
           max(teacher_minutes) AS main_teacher_minutes,
           count(*) FILTER (WHERE first_regular > first_start) AS teacher_switches
    FROM per_teacher
    JOIN totals USING (student_pid, term, subject_code)
    GROUP BY ALL
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
    CASE WHEN t.minutes > 0 THEN t.certified_minutes / t.minutes END AS certified_share,
    CASE WHEN t.minutes > 0 THEN t.legitimated_minutes / t.minutes END AS legitimated_share,
    CASE WHEN t.experience_weight > 0 THEN t.experience_sum / t.experience_weight END
        AS mean_experience,
    CASE WHEN t.minutes > 0 THEN t.novice_minutes / t.minutes END AS novice_share,
    CASE WHEN t.minutes > 0 THEN t.new_teacher_minutes / t.minutes END AS new_teacher_share,
    CASE WHEN t.minutes > 0 THEN t.two_teacher_minutes / t.minutes END AS two_teacher_share,
    CASE WHEN t.minutes > 0 THEN t.substitute_minutes / t.minutes END AS substitute_share,
    CASE WHEN t.lessons > 0 THEN t.reported_lessons / t.lessons END AS reported_share,
    CASE WHEN t.reported_minutes > 0 THEN t.absent_minutes / t.reported_minutes END
        AS absence_rate_reported,
    CASE WHEN t.minutes > 0 THEN t.absent_minutes / t.minutes END AS absence_rate_planned
FROM totals t
JOIN main_school s USING (student_pid, term, subject_code)
LEFT JOIN met m USING (student_pid, term, subject_code);

-- Per pupil × term: absence over reported and over planned minutes, thresholds, days absent.
CREATE TABLE student_terms AS
WITH sums AS (
    SELECT
        student_pid, term,
        count(*) AS lessons,
        count(*) FILTER (WHERE reported) AS reported_lessons,
        sum(minutes)::BIGINT AS planned_minutes,
        sum(CASE WHEN reported THEN coalesce(minutes, 0) ELSE 0 END)::BIGINT AS reported_minutes,
        sum(CASE WHEN reported THEN coalesce(valid_absence_minutes, 0) ELSE 0 END)::BIGINT
            AS valid_absence_minutes,
        sum(CASE WHEN reported THEN coalesce(invalid_absence_minutes, 0) ELSE 0 END)::BIGINT
            AS invalid_absence_minutes
    FROM pupil_lesson
    GROUP BY ALL
),
main_school AS (
    SELECT student_pid, term, school_code, max(grade) AS grade
    FROM pupil_lesson
    GROUP BY student_pid, term, school_code
    QUALIFY row_number() OVER (PARTITION BY student_pid, term
                               ORDER BY sum(minutes) DESC, school_code) = 1
),
months AS (
    SELECT student_pid, term, month,
           sum(CASE WHEN reported THEN coalesce(minutes, 0) ELSE 0 END) AS reported_minutes,
           sum(CASE WHEN reported THEN coalesce(valid_absence_minutes, 0)
                                       + coalesce(invalid_absence_minutes, 0) ELSE 0 END)
               AS absent_minutes
    FROM pupil_lesson
    GROUP BY ALL
),
alert AS (
    -- a month is over 20 % when its absence exceeds a fifth of its reported minutes
    SELECT student_pid, term,
           bool_or(reported_minutes > 0 AND absent_minutes * 100 > reported_minutes * 20)
               AS any_month_over_20_percent
    FROM months
    GROUP BY ALL
),
days AS (
    -- a day absent: a day with a reported lesson, none of its reported lessons attended
    SELECT student_pid, term, count(*) FILTER (WHERE attended = 0) AS days_absent
    FROM (
        SELECT student_pid, term, local_date,
               sum(coalesce(present_minutes, 0) + coalesce(other_minutes, 0)) AS attended
        FROM pupil_lesson
        WHERE reported
        GROUP BY ALL
    )
    GROUP BY ALL
)
SELECT
    student_pid, term, m.school_code, m.grade,
    s.lessons, s.reported_lessons, s.planned_minutes, s.reported_minutes,
    s.valid_absence_minutes, s.invalid_absence_minutes,
    s.valid_absence_minutes + s.invalid_absence_minutes AS absent_minutes,
    CASE WHEN s.reported_minutes > 0
         THEN (s.valid_absence_minutes + s.invalid_absence_minutes) / s.reported_minutes END
        AS absence_rate_reported,
    CASE WHEN s.planned_minutes > 0
         THEN (s.valid_absence_minutes + s.invalid_absence_minutes) / s.planned_minutes END
        AS absence_rate_planned,
    CASE WHEN s.reported_minutes > 0 THEN s.valid_absence_minutes / s.reported_minutes END
        AS valid_absence_rate,
    CASE WHEN s.reported_minutes > 0 THEN s.invalid_absence_minutes / s.reported_minutes END
        AS invalid_absence_rate,
    CASE WHEN s.lessons > 0 THEN s.reported_lessons / s.lessons END AS reported_share,
    CASE WHEN s.reported_minutes > 0
         THEN (s.valid_absence_minutes + s.invalid_absence_minutes) * 100
              >= s.reported_minutes * 10 END AS persistent_absence,
    CASE WHEN s.reported_minutes > 0
         THEN (s.valid_absence_minutes + s.invalid_absence_minutes) * 100
              >= s.reported_minutes * 50 END AS severe_absence,
    coalesce(a.any_month_over_20_percent, false) AS any_month_over_20_percent,
    coalesce(d.days_absent, 0) AS days_absent,
    coalesce(d.days_absent, 0) >= 15 AS many_days_absent,
    r.merit_value
FROM sums s
JOIN main_school m USING (student_pid, term)
LEFT JOIN alert a USING (student_pid, term)
LEFT JOIN days d USING (student_pid, term)
LEFT JOIN student_register r USING (student_pid);
