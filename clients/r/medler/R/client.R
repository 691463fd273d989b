# The connection: medler's HTTP API (/v1) over httr2, with the token sent as the Python
# client sends it (`Authorization: Bearer <token>`) and never printed. Error answers become
# R conditions (R/errors.R); answers about the dummy service's synthetic snapshot give one
# warning of class `medler_dummy_data` per client.

`%||%` <- function(x, y) if (is.null(x)) y else x

#' A researcher's connection to medler.
#'
#' @param url The service's address (`https://medler.example.org`; `/v1` is added). By
#'   default the environment variable `MEDLER_URL`.
#' @param token The API token the statistics office gave you. By default the environment
#'   variable `MEDLER_TOKEN`: a token never belongs in a script.
#' @param project The default project of the functions that take one; without it (and without
#'   `MEDLER_PROJECT`), your only project is used.
#' @param timeout Seconds to wait for an answer; a large release may take a while.
#' @return A `medler_client`, the first argument of every verb.
medler_client <- function(url = Sys.getenv("MEDLER_URL"), token = Sys.getenv("MEDLER_TOKEN"),
                          project = NULL, timeout = 60) {
  if (!is.character(url) || length(url) != 1 || !grepl("^https?://", url)) {
    stop("the service's address starts with https:// (or http://); set MEDLER_URL or ",
         "pass url=", call. = FALSE)
  }
  if (!is.character(token) || length(token) != 1 || !nzchar(trimws(token))) {
    stop("a token is needed: the statistics office issues one (set MEDLER_TOKEN or pass ",
         "token=)", call. = FALSE)
  }
  if (is.null(project)) {
    project <- Sys.getenv("MEDLER_PROJECT")
    if (!nzchar(project)) project <- NULL
  }
  url <- sub("/v1$", "", sub("/+$", "", url))
  # the token lives in an environment: printing, str() or format() of the client never show it
  state <- new.env(parent = emptyenv())
  state$token <- trimws(token)
  state$label <- NULL
  state$warned <- FALSE
  state$only_project <- NULL
  structure(list(url = url, project = project, timeout = timeout, state = state),
            class = "medler_client")
}

format.medler_client <- function(x, ...) {
  paste0("<medler client: ", x$url, ", project ", x$project %||% "(your only one)", ">")
}

print.medler_client <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}

#' `real` or `dummy`: what the service said about its data in its last answer (`NULL` before
#' one). Dummy figures are synthetic and say nothing about real pupils.
#' @param client A client from [medler_client()].
data_label <- function(client) client$state$label

.segment <- function(part) utils::URLencode(as.character(part), reserved = TRUE)

.project <- function(client, project) {
  if (!is.null(project)) return(project)
  if (!is.null(client$project)) return(client$project)
  if (is.null(client$state$only_project)) {
    ids <- vapply(.json(client, "GET", "/projects")$projects, function(p) p$id, character(1))
    if (length(ids) != 1) {
      stop("name the project (medler_client(..., project = ) or project = ); yours: ",
           if (length(ids)) paste(ids, collapse = ", ") else "none", call. = FALSE)
    }
    client$state$only_project <- ids[[1]]
  }
  client$state$only_project
}

.send <- function(client, method, path, query = list(), body = NULL) {
  req <- httr2::request(paste0(client$url, "/v1", path))
  req <- httr2::req_method(req, method)
  req <- httr2::req_auth_bearer_token(req, client$state$token)
  req <- httr2::req_user_agent(req, "medler-r/0.1.0")
  req <- httr2::req_timeout(req, client$timeout)
  if (length(query)) req <- do.call(httr2::req_url_query, c(list(req), query))
  if (!is.null(body)) {
    req <- httr2::req_body_json(req, body, auto_unbox = TRUE, digits = NA, null = "null")
  }
  req <- httr2::req_error(req, is_error = function(resp) FALSE)
  resp <- httr2::req_perform(req)
  .note_label(client, resp)
  if (httr2::resp_status(resp) >= 400) stop(.error_from(resp))
  resp
}

.json <- function(client, method, path, ...) {
  resp <- .send(client, method, path, ...)
  tryCatch(httr2::resp_body_json(resp, check_type = FALSE, simplifyVector = FALSE),
           error = function(e) {
             stop(method, " ", path, ": the service did not answer JSON", call. = FALSE)
           })
}

.body_label <- function(resp) {
  if (!grepl("^application/json", httr2::resp_content_type(resp) %||% "")) return(NULL)
  body <- tryCatch(httr2::resp_body_json(resp, check_type = FALSE, simplifyVector = FALSE),
                   error = function(e) NULL)
  if (is.list(body)) body$data else NULL
}

.note_label <- function(client, resp) {
  label <- httr2::resp_header(resp, "X-Medler-Data") %||% .body_label(resp)
  if (!is.character(label) || !label %in% c("real", "dummy")) return(invisible())
  client$state$label <- label
  if (label == "dummy" && !client$state$warned) {
    client$state$warned <- TRUE
    warning(structure(
      class = c("medler_dummy_data", "warning", "condition"),
      list(message = paste("results are from dummy data: a synthetic snapshot for writing and",
                           "testing queries; they say nothing about real pupils"),
           call = NULL)))
  }
  invisible()
}
