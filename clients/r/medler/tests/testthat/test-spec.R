# The spec builder: the JSON it writes, what it refuses, and that a spec is never changed by
# the functions that vary it.

test_that("a spec is written as the service's JSON spec", {
  spec <- medler_spec("student_terms") |>
    spec_by("grade") |>
    spec_where_in("term", "2026HT") |>
    spec_where_between("days_absent", 0, 20) |>
    spec_where_true("persistent_absence") |>
    spec_count_students() |>
    spec_mean("days_absent") |>
    spec_quantile("days_absent", 0.5) |>
    spec_ratio("absent_minutes", "planned_minutes") |>
    spec_histogram("days_absent") |>
    spec_dp(rho = 0.05)
  json <- jsonlite::toJSON(spec_to_list(spec), auto_unbox = TRUE, digits = NA)
  expect_equal(
    as.character(json),
    paste0(
      '{"table":"student_terms","measures":[{"kind":"count_students"},',
      '{"kind":"mean","column":"days_absent"},{"kind":"quantile","column":"days_absent",',
      '"q":0.5},{"kind":"ratio","numerator":"absent_minutes","denominator":',
      '"planned_minutes"}],"group_by":["grade"],"filters":[{"column":"term","op":"in",',
      '"values":["2026HT"]},{"column":"days_absent","op":"between","values":[0,20]},',
      '{"column":"persistent_absence","op":"is_true"}],"mode":"dp","rho":0.05,',
      '"bands":"days_absent"}'
    )
  )
  expect_equal(
    spec_measure_names(spec),
    c("count_students", "mean_days_absent", "quantile_0.5_days_absent",
      "ratio_absent_minutes_planned_minutes")
  )
})

test_that("one group-by column and one value stay JSON arrays", {
  wire <- spec_to_list(medler_spec("exposure") |> spec_by("school_code") |>
                         spec_where_in("grade", 7) |> spec_count_students())
  json <- as.character(jsonlite::toJSON(wire, auto_unbox = TRUE))
  expect_match(json, '"group_by":["school_code"]', fixed = TRUE)
  expect_match(json, '"values":[7]', fixed = TRUE)
  expect_match(json, '"mode":"sdc"', fixed = TRUE)
})

test_that("varying a spec leaves the one it came from as it was", {
  base <- medler_spec("student_terms") |> spec_by("grade") |> spec_count_students()
  exact <- base |> spec_with_margins()
  private <- base |> spec_dp(rho = 0.1)
  expect_false(base$margins)
  expect_equal(base$mode, "sdc")
  expect_true(exact$margins)
  expect_equal(private$rho, 0.1)
  expect_null(spec_sdc(private)$rho)
  expect_equal(spec_ckm(base)$mode, "ckm")
})

test_that("the builder refuses what it can know is wrong", {
  base <- medler_spec("student_terms") |> spec_count_students()
  expect_error(spec_dp(base, rho = 0), "a dp spec needs rho, its privacy loss, above 0")
  expect_error(base |> spec_with_margins() |> spec_dp(rho = 0.1),
               "margins are for sdc tables; drop spec_with_margins() for dp", fixed = TRUE)
  expect_error(spec_count_students(base), "a measure is asked for twice: count_students")
  expect_error(base |> spec_by("grade") |> spec_by("grade"),
               "a group-by column is named twice: grade")
  expect_error(spec_quantile(base, "days_absent", 1),
               "a quantile's q is strictly between 0 and 1")
  expect_error(spec_where_in(base, "grade"), "needs at least one value")
  expect_error(spec_where_between(base, "days_absent", 5, 1),
               "between 5 and 1: the first is the lower bound")
  expect_error(spec_to_list(medler_spec("student_terms")),
               "a spec needs at least one measure")
  expect_error(medler_spec(""), "a spec's table needs a column name")
  expect_error(spec_by(list(table = "x"), "grade"), "a spec is made with medler_spec")
})

test_that("a spec given as a list is sent as it is", {
  wire <- list(table = "student_terms", measures = list(list(kind = "count_students")))
  expect_identical(spec_to_list(wire), wire)
  expect_error(spec_to_list(list(measures = list())), "a spec names its table")
})
