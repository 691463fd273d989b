# Error answers become conditions of the service's class, with its message; the client never
# shows its token.

answer <- function(status, body, headers = list()) {
  httr2::response(
    status_code = status, url = "http://medler.test/v1/releases", method = "GET",
    headers = c(list(`Content-Type` = "application/json"), headers),
    body = charToRaw(body)
  )
}

test_that("each error answer is a condition of its own class, with the service's message", {
  cases <- list(
    list(401, "not_authenticated", "medler_not_authenticated"),
    list(403, "refused", "medler_refused"),
    list(403, "not_allowed", "medler_not_allowed"),
    list(404, "not_found", "medler_not_found"),
    list(409, "budget_exhausted", "medler_budget_exhausted"),
    list(409, "conflict", "medler_conflict"),
    list(413, "too_large", "medler_request_too_large"),
    list(422, "invalid", "medler_invalid"),
    list(429, "rate_limited", "medler_rate_limited"),
    list(500, "internal", "medler_api_error")
  )
  for (case in cases) {
    body <- sprintf('{"error": {"code": "%s", "message": "what to do"}, "data": "dummy"}',
                    case[[2]])
    error <- medler:::.error_from(answer(case[[1]], body))
    expect_s3_class(error, case[[3]])
    expect_s3_class(error, "medler_api_error")
    expect_equal(error$message, "what to do")
    expect_equal(error$status, case[[1]])
    expect_equal(error$code, case[[2]])
    expect_equal(conditionMessage(error), sprintf("what to do (%d %s)", case[[1]], case[[2]]))
  }
})

test_that("a rate limit says how long to wait, and a bare answer keeps its text", {
  error <- medler:::.error_from(answer(429, '{"error": {"code": "rate_limited",
    "message": "slow down"}}', list(`Retry-After` = "7")))
  expect_equal(error$retry_after, 7L)
  bare <- httr2::response(status_code = 502, headers = list(`Content-Type` = "text/plain"),
                          body = charToRaw("bad gateway"))
  error <- medler:::.error_from(bare)
  expect_equal(conditionMessage(error), "bad gateway (502 http)")
})

test_that("the client never shows its token", {
  token <- "medler_abc_secret-never-shown"
  client <- medler_client("https://medler.example.org/v1/", token, project = "p")
  expect_equal(client$url, "https://medler.example.org")
  shown <- c(capture.output(print(client)), format(client), capture.output(str(client)),
             capture.output(print(unclass(client))))
  expect_false(any(grepl("secret-never-shown", shown, fixed = TRUE)))
  expect_equal(format(client), "<medler client: https://medler.example.org, project p>")
})

test_that("a client needs an address and a token", {
  expect_error(medler_client("medler.example.org", "t"),
               "the service's address starts with https://")
  expect_error(medler_client("https://medler.example.org", " "), "a token is needed")
})
