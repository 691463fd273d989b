# The verbs against a running service: the dummy service (medler serve --dummy), whose address
# and researcher token are in MEDLER_URL and MEDLER_TOKEN. Its project `dummy` is asked
# student_terms under dp and student_months under sdc, as in the researcher's tutorial.

skip_if(!nzchar(Sys.getenv("MEDLER_URL")) || !nzchar(Sys.getenv("MEDLER_TOKEN")),
        "no medler service: start `medler serve --dummy` and set MEDLER_URL and MEDLER_TOKEN")

connect <- function() {
  client <- medler_client()
  expect_warning(found <- projects(client), class = "medler_dummy_data")
  expect_true("dummy" %in% found$id)
  client
}

by_grade <- function(term) {
  medler_spec("student_terms") |>
    spec_by("grade") |>
    spec_where_in("term", term) |>
    spec_count_students() |>
    spec_mean("days_absent") |>
    spec_dp(rho = 0.05)
}

latest_term <- function(client) {
  tail(catalogue_keys(catalogue(client), "student_terms", "term"), 1)
}

test_that("the dummy data are said once per client, and in every answer", {
  client <- connect()
  expect_no_warning(projects(client))
  expect_equal(data_label(client), "dummy")
})

test_that("the catalogue lists tables, columns, keys and bounds, never identifiers", {
  client <- connect()
  found <- catalogue(client)
  expect_s3_class(found, "medler_catalogue")
  expect_equal(found$project, "dummy")
  expect_true(all(c("student_terms", "student_months", "exposure") %in% names(found$tables)))
  columns <- found$columns
  expect_false(any(grepl("_pid$", columns$column)))
  expect_true(all(columns$kind %in% c("public_key", "category", "flag", "measure")))
  expect_true(all(c("public_key", "flag", "measure") %in% columns$kind))
  days <- columns[columns$table == "student_terms" & columns$column == "days_absent", ]
  expect_equal(days$kind, "measure")
  expect_true(days$lower < days$upper)
  expect_true(length(catalogue_keys(found, "student_terms", "grade")) > 0)
  expect_error(catalogue_keys(found, "student_terms", "nothing"), "is not in the catalogue")
})

test_that("a dp spec is previewed, priced, released with intervals and charged", {
  client <- connect()
  spec <- by_grade(latest_term(client))
  before <- budget(client)
  expect_equal(before$level, c("dataset", "project", "researcher"))

  seen <- preview(client, spec)
  expect_equal(seen$mode, "dp")
  expect_equal(seen$rho, 0.05, tolerance = 1e-6)
  expect_equal(seen$accuracy$measure, c("count_students", "mean_days_absent"))
  expect_true(seen$accuracy$half_width[[1]] > 0)

  priced <- plan(client, spec, persons = 120, half_width = 0.5, measure = "mean_days_absent")
  expect_true(priced$rho > 0)
  expect_equal(names(priced$half_widths), c("count_students", "mean_days_absent"))

  result <- submit(client, spec)
  expect_s3_class(result, "medler_result")
  expect_equal(result$status, "released")
  expect_match(result$release_id, "^r-")
  expect_equal(result$data_label, "dummy")
  table <- result$table
  expect_equal(names(table), c("grade", "status", "count_students", "count_students_lower",
                               "count_students_upper", "mean_days_absent",
                               "mean_days_absent_lower", "mean_days_absent_upper"))
  expect_true(nrow(table) > 1)
  expect_false(is.unsorted(table$grade))
  expect_true(all(table$count_students_lower <= table$count_students &
                    table$count_students <= table$count_students_upper))

  after <- budget(client)
  if (!result$cached) {
    expect_equal(after$spent_rho - before$spent_rho, rep(result$rho, 3), tolerance = 1e-9)
  }
  expect_true(all(after$spent_epsilon > 0))

  log <- releases(client)
  expect_true(result$release_id %in% log$release_id)
  expect_s3_class(log$at, "POSIXct")
  expect_false(is.unsorted(rev(as.numeric(log$at))))

  again <- release(client, result$release_id)
  expect_equal(again$table, table)
})

test_that("a download is a data frame of the same table, or a file", {
  client <- connect()
  result <- submit(client, by_grade(latest_term(client)))
  frame <- download(client, result$release_id)
  expect_equal(names(frame), names(result$table))
  frame <- frame[order(frame$grade), ]
  rownames(frame) <- NULL
  expect_equal(frame$grade, result$table$grade)
  expect_equal(frame$count_students, result$table$count_students)
  expect_equal(frame$mean_days_absent_upper, result$table$mean_days_absent_upper)

  folder <- tempfile("downloads")
  dir.create(folder)
  written <- download(client, result$release_id, "csv", path = folder)
  expect_equal(basename(written), paste0(result$release_id, ".csv"))
  expect_equal(readLines(written, n = 1), paste(names(result$table), collapse = ","))
  as_json <- download(client, result$release_id, "json")
  expect_equal(as_json$release_id, result$release_id)
  expect_equal(nrow(as_json$rows), nrow(result$table))
  parquet <- download(client, result$release_id, "parquet", path = file.path(folder, "t.pq"))
  expect_equal(readBin(parquet, "raw", 4), charToRaw("PAR1"))
  expect_error(download(client, result$release_id, "parquet"), "needs path=")
})

test_that("an exact table has whole counts, suppressed cells as NA and margins last", {
  client <- connect()
  exact <- submit(client, medler_spec("student_months") |> spec_by("grade") |>
                    spec_count_students() |> spec_with_margins())
  table <- exact$table
  expect_equal(exact$mode, "sdc")
  expect_equal(exact$rho, 0)
  expect_equal(names(table), c("grade", "status", "count_students"))
  expect_type(table$count_students, "integer")
  expect_equal(table$grade[[nrow(table)]], "all")
  expect_true(all(is.na(table$count_students) == (table$status == "suppressed")))
})

test_that("refusals, unknown releases and bad tokens are conditions with the service's message", {
  client <- connect()
  refusal <- expect_error(
    preview(client, medler_spec("student_terms") |> spec_by("student_pid") |>
              spec_count_students() |> spec_dp(rho = 0.01)),
    class = "medler_refused"
  )
  expect_true(nzchar(refusal$message))
  expect_equal(refusal$status, 403L)
  missing <- expect_error(release(client, "r-20200101T000000-00000000"),
                          class = "medler_not_found")
  expect_equal(missing$message, "there is no release 'r-20200101T000000-00000000' of yours")
  stranger <- medler_client(token = "medler_0000_not-a-token")
  # its first answer, an error, is about the dummy service too: it warns as well
  expect_error(suppressWarnings(projects(stranger), classes = "medler_dummy_data"),
               class = "medler_not_authenticated")
  invalid <- expect_error(submit(client, list(table = "student_terms", measures = list())),
                          class = "medler_invalid")
  expect_equal(invalid$status, 422L)
})

test_that("a request with a justification is held, and followed in the requests", {
  client <- connect()
  held <- submit(client, medler_spec("student_months") |> spec_by("school_code") |>
                   spec_count_students(),
                 justification = "School-level counts weight the survey sample")
  expect_equal(held$status, "held")
  expect_null(held$table)
  expect_true(is.integer(held$request_id))
  mine <- requests(client)
  row <- mine[mine$id == held$request_id, ]
  expect_equal(row$status, "held")
  expect_equal(row$justification, "School-level counts weight the survey sample")
})
