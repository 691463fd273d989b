# The verbs: the same as the Python client's methods (projects, catalogue, budget, preview,
# plan, submit, releases, release, download, requests), each taking the client first.

.PAGE <- 500 # the service's largest page of the release log

#' Your projects: one row each, with their approved tables and members.
#' @param client A client from [medler_client()].
projects <- function(client) {
  rows <- lapply(.json(client, "GET", "/projects")$projects, function(p) {
    p$tables <- paste(names(p$tables), collapse = ", ")
    p$members <- paste(unlist(p$members), collapse = ", ")
    p
  })
  out <- .rows_frame(rows, c("id", "purpose", "legal_basis", "organisation", "status",
                             "valid_from", "valid_to", "tables", "members"))
  out$valid_from <- as.Date(out$valid_from)
  out$valid_to <- as.Date(out$valid_to)
  out
}

#' The research tables, columns and public key values a project may query.
#'
#' @param client A client.
#' @param project The project (by default the client's).
#' @return A `medler_catalogue`: `tables` (name -> what one row is) and `columns`, one row per
#'   table and column with its `kind` (public_key, category, flag, measure), whether the project
#'   is `approved` for it, a public key's `keys` (a list column) and a measure's `lower` and
#'   `upper` bounds. [catalogue_keys()] reads one key's values.
catalogue <- function(client, project = NULL) {
  name <- .project(client, project)
  body <- .json(client, "GET", paste0("/projects/", .segment(name), "/catalogue"))
  rows <- list()
  tables <- character()
  for (table in body$tables) {
    tables[[table$name]] <- table$description
    approved <- unlist(table$approved_columns)
    for (c in table$columns) {
      bounds <- unlist(c$bounds) %||% c(NA_real_, NA_real_)
      rows[[length(rows) + 1]] <- list(
        table = table$name, column = c$name, kind = c$kind,
        approved = "*" %in% approved || c$name %in% approved,
        keys = unlist(c$keys), lower = bounds[[1]], upper = bounds[[2]])
    }
  }
  columns <- .frame(list(
    table = vapply(rows, function(r) r$table, character(1)),
    column = vapply(rows, function(r) r$column, character(1)),
    kind = vapply(rows, function(r) r$kind, character(1)),
    approved = vapply(rows, function(r) r$approved, logical(1)),
    keys = I(lapply(rows, function(r) r$keys)),
    lower = .numbers(lapply(rows, function(r) r$lower)),
    upper = .numbers(lapply(rows, function(r) r$upper))))
  structure(list(project = body$project, policy_version = body$policy_version,
                 tables = tables, columns = columns, data_label = body$data),
            class = "medler_catalogue")
}

#' Privacy budget per level (dataset, project, you in the project): the cap, spent, reserved
#' and remaining as zCDP rho, and spent and cap as epsilon of (epsilon, delta)-DP at `delta`.
#' @param client A client.
#' @param project The project (by default the client's).
#' @param delta The delta the epsilon figures are stated for.
budget <- function(client, project = NULL, delta = 1e-9) {
  name <- .project(client, project)
  body <- .json(client, "GET", paste0("/projects/", .segment(name), "/budget"),
                query = list(delta = format(delta, digits = 15)))
  out <- .rows_frame(body$levels, c("scope", "level", "cap_rho", "spent_rho", "reserved_rho",
                                    "remaining_rho", "spent_epsilon", "cap_epsilon"))
  out$delta <- rep(as.numeric(body$delta), nrow(out))
  out
}

#' What a spec would give, free and without values: in dp mode its accuracy (`accuracy`, the
#' 95 % half-widths per measure) and cost (`rho`), in sdc mode which cells would be suppressed
#' (`cells`).
#' @param client A client.
#' @param spec A spec from [medler_spec()], or the JSON spec as a list.
#' @param project The project (by default the client's).
preview <- function(client, spec, project = NULL) {
  name <- .project(client, project)
  wire <- spec_to_list(spec)
  body <- .json(client, "POST", paste0("/projects/", .segment(name), "/preview"), body = wire)
  .preview_result(wire, body, body$data)
}

#' Price a dp question before spending: the rho at which `measure` (every measure, without
#' one) has a 95 % half-width of `half_width` in cells of `persons`, and how many such
#' questions your remaining budget holds. Free, and the same whatever the data.
#' @param client A client.
#' @param spec A dp spec.
#' @param persons The persons in a typical cell.
#' @param half_width The 95 % half-width wanted.
#' @param measure The measure it is for (default: all).
#' @param project The project (by default the client's).
plan <- function(client, spec, persons, half_width, measure = NULL, project = NULL) {
  name <- .project(client, project)
  payload <- list(spec = spec_to_list(spec), persons = as.integer(persons),
                  half_width = half_width)
  if (!is.null(measure)) payload$measure <- measure
  body <- .json(client, "POST", paste0("/projects/", .segment(name), "/plan"), body = payload)
  structure(list(rho = as.numeric(body$rho), persons = as.integer(body$persons),
                 half_width = as.numeric(body$half_width), measure = body$measure,
                 half_widths = vapply(body$half_widths, function(w) as.numeric(w %||% NA),
                                      numeric(1)),
                 remaining_rho = body$remaining_rho, questions = body$questions,
                 data_label = body$data),
            class = "medler_plan")
}

#' Release a spec. A dp spec is charged to the budget before its noise is drawn.
#'
#' @param client A client.
#' @param spec A spec from [medler_spec()], or the JSON spec as a list.
#' @param project The project (by default the client's).
#' @param justification A reason for an exception: a spec sent with one is always held for the
#'   data protection officer's review.
#' @return A `medler_result`: `status` is `released` (with its `table`, a data frame of one row
#'   per cell: the keys, `status`, each measure and, in dp mode, `<measure>_lower` and
#'   `<measure>_upper`, its 95 % interval) or `held` (with its `request_id` and the `checks`
#'   it failed).
submit <- function(client, spec, project = NULL, justification = NULL) {
  name <- .project(client, project)
  payload <- list(spec = spec_to_list(spec))
  if (!is.null(justification)) payload$justification <- justification
  body <- .json(client, "POST", paste0("/projects/", .segment(name), "/releases"),
                body = payload)
  if (identical(body$status, "released")) {
    return(.release_result(body$release, body$data))
  }
  .held_result(body$request, body$data)
}

#' Your release log, newest first: what was released or refused, when, at what cost; never a
#' value ([release()] fetches a table).
#' @param client A client.
releases <- function(client) {
  entries <- list()
  repeat {
    body <- .json(client, "GET", "/releases",
                  query = list(offset = length(entries), limit = .PAGE))
    entries <- c(entries, body$entries)
    if (!length(body$entries) || length(entries) >= body$total) break
  }
  entries <- lapply(entries, function(e) {
    e$spec <- .as_json(e$spec)
    e
  })
  out <- .rows_frame(entries, c("at", "release_id", "project", "requester", "status", "mode",
                                "table", "rho", "snapshot", "policy_version", "spec_digest",
                                "result_digest", "reason", "spec"))
  out$at <- .times(out$at)
  out
}

#' One of your releases, again: the same table, no new cost.
#' @param client A client.
#' @param release_id Its id, `r-...`.
release <- function(client, release_id) {
  body <- .json(client, "GET", paste0("/releases/", .segment(release_id)))
  .release_result(body, body$data)
}

#' One of your releases as a file, one row per cell: CSV, JSON or Parquet.
#'
#' Without `path`, a CSV download is returned as a data frame (a suppressed value is `NA`) and
#' a JSON one as a list with its `rows`; with `path`, the file is written (into a folder:
#' `<release_id>.<format>`) and its path returned.
#' @param client A client.
#' @param release_id Its id, `r-...`.
#' @param format `csv`, `json` or `parquet` (Parquet needs a `path`).
#' @param path Where to write it, or `NULL`.
download <- function(client, release_id, format = c("csv", "json", "parquet"), path = NULL) {
  format <- match.arg(format)
  if (is.null(path) && format == "parquet") {
    stop("a Parquet download needs path= to be written to (read it with the arrow package)",
         call. = FALSE)
  }
  resp <- .send(client, "GET", paste0("/releases/", .segment(release_id), "/download"),
                query = list(format = format))
  bytes <- httr2::resp_body_raw(resp)
  if (!is.null(path)) {
    if (dir.exists(path)) path <- file.path(path, paste0(release_id, ".", format))
    writeBin(bytes, path)
    return(invisible(path))
  }
  text <- rawToChar(bytes)
  Encoding(text) <- "UTF-8"
  if (format == "json") return(jsonlite::fromJSON(text, simplifyVector = TRUE))
  read.csv(text = text, stringsAsFactors = FALSE, check.names = FALSE, na.strings = "",
           encoding = "UTF-8")
}

#' Your held and reviewed requests: `status` is held, approved, released, rejected or refused;
#' `checks` the checks each failed; a released one names its `release_id`.
#' @param client A client.
requests <- function(client) {
  rows <- lapply(.json(client, "GET", "/requests")$requests, function(r) {
    r$checks <- paste(vapply(r$checks, function(c) paste0(c$check, ": ", c$reason),
                             character(1)), collapse = "; ")
    r$spec <- .as_json(r$spec)
    r
  })
  out <- .rows_frame(rows, c("id", "at", "project", "requester", "status", "checks",
                             "justification", "reviewer", "review_reason", "release_id",
                             "snapshot", "spec"))
  out$at <- .times(out$at)
  out
}
