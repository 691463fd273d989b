# What the verbs return: released tables as data frames (one row per cell) inside small
# classed lists with their metadata, and the service's lists (releases, requests, budgets,
# projects, the catalogue) as data frames. The same columns as the Python client's.

.MARGIN <- "all" # a margin's key: the total over every value of that column

.frame <- function(columns) {
  n <- if (length(columns)) length(columns[[1]]) else 0L
  structure(columns, class = "data.frame", row.names = .set_row_names(n))
}

# one column of scalars from a list of JSON values (null -> NA)
.column <- function(values, empty = NA) {
  values <- lapply(values, function(v) if (is.null(v) || length(v) == 0) empty else v)
  if (!length(values)) return(logical())
  if (all(vapply(values, function(v) is.atomic(v) && length(v) == 1, logical(1)))) {
    return(unlist(values, use.names = FALSE))
  }
  I(values)
}

.numbers <- function(values) {
  as.numeric(vapply(values, function(v) if (is.null(v)) NA_real_ else as.numeric(v),
                    numeric(1)))
}

.whole <- function(values) {
  out <- .numbers(values)
  if (all(is.na(out) | out == round(out)) && all(is.na(out) | abs(out) < .Machine$integer.max)) {
    out <- as.integer(out)
  }
  out
}

.times <- function(values) {
  text <- sub("(Z|[+-]00:?00)$", "", as.character(values))
  as.POSIXct(text, tz = "UTC", tryFormats = c("%Y-%m-%dT%H:%M:%OS", "%Y-%m-%d %H:%M:%OS"))
}

.rows_frame <- function(rows, columns) {
  out <- lapply(columns, function(name) .column(lapply(rows, function(r) r[[name]])))
  names(out) <- columns
  .frame(out)
}

.as_json <- function(x) as.character(jsonlite::toJSON(x, auto_unbox = TRUE, null = "null",
                                                      digits = NA))

# --- released tables -------------------------------------------------------------------------

.TERM <- "^([0-9]{4})(VT|HT)$"
.BAND <- "^(<|>=)?([0-9]+(\\.[0-9]+)?)(-[0-9]+(\\.[0-9]+)?)?%?(\\+)?$"

# sort keys of one key column: values in order (terms in time, bands by their edges, numbers
# by value), the margin ("all") last
.sort_keys <- function(values) {
  margin <- vapply(values, function(v) identical(v, .MARGIN), logical(1))
  number <- rep(NA_real_, length(values))
  text <- rep(NA_character_, length(values))
  for (i in seq_along(values)) {
    v <- values[[i]]
    if (margin[[i]] || is.null(v) || is.na(v)) next
    if (is.numeric(v)) {
      number[[i]] <- v
    } else if (grepl(.TERM, v)) {
      number[[i]] <- as.numeric(sub(.TERM, "\\1", v)) + (sub(.TERM, "\\2", v) == "HT") / 2
    } else if (grepl(.BAND, v)) {
      side <- if (startsWith(v, "<")) -1 else if (startsWith(v, ">=") || endsWith(v, "+")) 1 else 0
      number[[i]] <- as.numeric(sub(.BAND, "\\2", v)) + side * 1e-6
    } else {
      text[[i]] <- v
    }
  }
  list(margin, number, text)
}

.key_value <- function(cell, key) {
  value <- cell$keys[[key]]
  if (is.null(value)) {
    if (isTRUE(cell$margin)) .MARGIN else NA
  } else {
    value
  }
}

.release_table <- function(spec, mode, cells) {
  keys <- .key_names(spec)
  names <- spec_measure_names(spec)
  counts <- vapply(spec$measures, function(m) m$kind %in% .counts, logical(1))
  if (length(keys) && length(cells)) {
    sort_by <- unlist(lapply(keys, function(k) .sort_keys(lapply(cells, .key_value, k))),
                      recursive = FALSE)
    cells <- cells[do.call(order, c(sort_by, list(na.last = TRUE)))]
  }
  out <- list()
  for (key in keys) out[[key]] <- .column(lapply(cells, .key_value, key))
  out$status <- vapply(cells, function(c) c$status %||% NA_character_, character(1))
  for (i in seq_along(names)) {
    name <- names[[i]]
    values <- lapply(cells, function(c) c$values[[name]])
    out[[name]] <- if (counts[[i]] && mode != "dp") .whole(values) else .numbers(values)
    if (mode == "dp") {
      out[[paste0(name, "_lower")]] <- .numbers(lapply(cells, function(c) c$lower[[name]]))
      out[[paste0(name, "_upper")]] <- .numbers(lapply(cells, function(c) c$upper[[name]]))
    }
  }
  .frame(out)
}

.release_result <- function(body, label) {
  spec <- body$spec %||% list()
  structure(list(
    status = "released", release_id = body$release_id, mode = body$mode,
    rho = as.numeric(body$rho), snapshot = body$snapshot, policy_version = body$policy_version,
    cached = isTRUE(body$cached), notes = unlist(body$notes) %||% character(),
    data_label = label, table = .release_table(spec, body$mode, body$cells %||% list()),
    spec = spec, request_id = NULL, checks = .checks_frame(list())
  ), class = "medler_result")
}

.checks_frame <- function(checks) {
  .frame(list(check = vapply(checks, function(c) c$check, character(1)),
              reason = vapply(checks, function(c) c$reason, character(1))))
}

.held_result <- function(request, label) {
  spec <- request$spec %||% list()
  structure(list(
    status = "held", release_id = request$release_id, mode = spec$mode %||% "sdc", rho = 0,
    snapshot = request$snapshot, policy_version = NULL, cached = FALSE, notes = character(),
    data_label = label, table = NULL, spec = spec, request_id = as.integer(request$id),
    checks = .checks_frame(request$checks %||% list())
  ), class = "medler_result")
}

print.medler_result <- function(x, ...) {
  dummy <- if (identical(x$data_label, "dummy")) " (DUMMY DATA)" else ""
  if (identical(x$status, "released")) {
    cat(sprintf("<medler release %s: %s, rho %g, %d cells%s%s>\n", x$release_id, x$mode, x$rho,
                nrow(x$table), if (x$cached) ", cached" else "", dummy))
    print(x$table)
  } else {
    cat(sprintf("<medler request %d: held for the data protection officer%s>\n",
                x$request_id, dummy))
    if (nrow(x$checks)) print(x$checks)
  }
  invisible(x)
}

# --- previews, plans, the catalogue ---------------------------------------------------------

.preview_result <- function(spec, body, label) {
  accuracy <- body$accuracy %||% list()
  order <- if (length(accuracy)) spec_measure_names(spec) else character()
  order <- c(order, setdiff(names(accuracy), order))
  widths <- unique(unlist(lapply(order, function(n) names(accuracy[[n]]))))
  widths <- widths[order(widths != "half_width", widths)]
  acc <- list(measure = as.character(order))
  for (w in widths) acc[[w]] <- .numbers(lapply(order, function(n) accuracy[[n]][[w]]))
  cells <- body$cells %||% list()
  table <- list()
  for (key in .key_names(spec)) table[[key]] <- .column(lapply(cells, .key_value, key))
  table$status <- vapply(cells, function(c) c$status %||% NA_character_, character(1))
  structure(list(mode = body$mode, rho = as.numeric(body$rho),
                 policy_version = body$policy_version, accuracy = .frame(acc),
                 cells = .frame(table), notes = unlist(body$notes) %||% character(),
                 data_label = label),
            class = "medler_preview")
}

print.medler_preview <- function(x, ...) {
  cat(sprintf("<medler preview: %s, rho %g%s>\n", x$mode, x$rho,
              if (identical(x$data_label, "dummy")) " (DUMMY DATA)" else ""))
  if (nrow(x$accuracy)) print(x$accuracy) else print(x$cells)
  invisible(x)
}

print.medler_plan <- function(x, ...) {
  cat(sprintf("<medler plan: rho %g for a half-width of %g in cells of %d; %s such questions left>\n",
              x$rho, x$half_width, x$persons,
              if (is.null(x$questions)) "unknown" else format(x$questions)))
  invisible(x)
}

print.medler_catalogue <- function(x, ...) {
  cat(sprintf("<medler catalogue of project %s: %d tables%s>\n", x$project, length(x$tables),
              if (identical(x$data_label, "dummy")) " (DUMMY DATA)" else ""))
  for (name in names(x$tables)) cat("  ", name, ": ", x$tables[[name]], "\n", sep = "")
  invisible(x)
}

#' A public key's values (from public sources, not from the data).
#' @param catalogue A catalogue from [catalogue()].
#' @param table,column The research table and its public key column.
catalogue_keys <- function(catalogue, table, column) {
  columns <- catalogue$columns
  row <- which(columns$table == table & columns$column == column)
  if (!length(row)) stop(table, ".", column, " is not in the catalogue", call. = FALSE)
  unlist(columns$keys[[row[[1]]]])
}
