# The service's error answers as R conditions. Every error answer is
# {"error": {"code": ..., "message": ...}, "data": ...}; the condition carries the HTTP
# `status`, the `code` and the service's `message`, which says what was wrong and what to do.
#
#   tryCatch(submit(client, spec), medler_refused = function(e) e$message)
#
# Classes, most specific first, all under `medler_api_error`:
#   medler_not_authenticated  401: no token, or one not valid, expired or revoked
#   medler_refused            403 refused: the spec may not be released
#   medler_not_allowed        403: your role or project does not allow this
#   medler_not_found          404: no such project, release or request of yours
#   medler_budget_exhausted   409 budget_exhausted: it costs more budget than is left
#   medler_conflict           409: it clashes with the state it would change
#   medler_request_too_large  413: the request body is over the service's limit
#   medler_invalid            422: a spec the service cannot read, a bad parameter
#   medler_rate_limited       429: too many requests; `retry_after` seconds until the next

.error_classes <- list(
  list(401L, NULL, "medler_not_authenticated"),
  list(403L, "refused", "medler_refused"),
  list(403L, NULL, "medler_not_allowed"),
  list(404L, NULL, "medler_not_found"),
  list(409L, "budget_exhausted", "medler_budget_exhausted"),
  list(409L, NULL, "medler_conflict"),
  list(413L, NULL, "medler_request_too_large"),
  list(422L, NULL, "medler_invalid"),
  list(429L, NULL, "medler_rate_limited")
)

.medler_error <- function(status, code, message, retry_after = NULL) {
  class <- NULL
  for (entry in .error_classes) {
    if (status == entry[[1]] && (is.null(entry[[2]]) || identical(entry[[2]], code))) {
      class <- entry[[3]]
      break
    }
  }
  structure(
    class = c(class, "medler_api_error", "error", "condition"),
    list(message = message, call = NULL, status = as.integer(status), code = code,
         retry_after = retry_after)
  )
}

conditionMessage.medler_api_error <- function(c) {
  sprintf("%s (%d %s)", c$message, c$status, c$code)
}

.error_from <- function(resp) {
  status <- httr2::resp_status(resp)
  code <- "http"
  message <- ""
  body <- tryCatch(httr2::resp_body_json(resp, check_type = FALSE, simplifyVector = FALSE),
                   error = function(e) NULL)
  detail <- if (is.list(body)) body$error else NULL
  if (is.list(detail)) {
    code <- as.character(detail$code %||% code)
    message <- as.character(detail$message %||% "")
  }
  if (!nzchar(message)) {
    text <- tryCatch(trimws(httr2::resp_body_string(resp)), error = function(e) "")
    message <- if (nzchar(text)) substr(text, 1, 300) else paste("HTTP", status)
  }
  after <- httr2::resp_header(resp, "Retry-After")
  retry_after <- if (status == 429 && !is.null(after) && grepl("^[0-9]+$", after)) {
    as.integer(after)
  }
  .medler_error(status, code, message, retry_after)
}
