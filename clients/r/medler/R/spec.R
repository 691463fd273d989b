# The query spec, written as a pipeline: the same spec as the Python client's `Spec`
# (docs/reference/query-spec.md in the medler repository).
#
#   spec <- medler_spec("student_terms") |>
#     spec_by("grade") |>
#     spec_where_in("term", "2026HT") |>
#     spec_count_students() |>
#     spec_mean("days_absent") |>
#     spec_dp(rho = 0.05)
#
# Each spec_ function returns a new spec and leaves the one it was given as it was (R copies
# on change), so a base spec can be varied freely. The builder refuses what it can know is
# wrong without the catalogue (a dp spec without rho, margins in dp mode, a measure or group-by
# column named twice, a quantile outside (0, 1)); the service checks everything else.

.measure_kinds <- c("count_students", "count_teachers", "share", "sum", "mean", "ratio",
                    "quantile")
.counts <- c("count_students", "count_teachers")

#' A new query spec on a research table (`exposure`, `student_terms`, ...).
#' @param table The research table's name, as the catalogue lists it.
#' @return A `medler_spec`: pass it on to the other `spec_` functions.
medler_spec <- function(table) {
  .check_column(table, "a spec's table")
  structure(list(table = table, measures = list(), group_by = character(),
                 filters = list(), mode = "sdc", rho = NULL, margins = FALSE,
                 bands = NULL),
            class = "medler_spec")
}

.check_spec <- function(spec) {
  if (!inherits(spec, "medler_spec")) {
    stop("a spec is made with medler_spec(table), not ", class(spec)[[1]], call. = FALSE)
  }
  names <- spec_measure_names(spec)
  twice <- sort(unique(names[duplicated(names)]))
  if (length(twice)) {
    stop("a measure is asked for twice: ", paste(twice, collapse = ", "), call. = FALSE)
  }
  twice <- sort(unique(spec$group_by[duplicated(spec$group_by)]))
  if (length(twice)) {
    stop("a group-by column is named twice: ", paste(twice, collapse = ", "), call. = FALSE)
  }
  if (spec$mode == "dp") {
    rho <- spec$rho
    if (!is.numeric(rho) || length(rho) != 1 || !is.finite(rho) || rho <= 0) {
      stop("a dp spec needs rho, its privacy loss, above 0", call. = FALSE)
    }
    if (isTRUE(spec$margins)) {
      stop("margins are for sdc tables; drop spec_with_margins() for dp", call. = FALSE)
    }
  }
  spec
}

.check_column <- function(name, what) {
  if (!is.character(name) || length(name) != 1 || is.na(name) || !nzchar(trimws(name))) {
    stop(what, " needs a column name", call. = FALSE)
  }
  name
}

.scalars <- function(values, where) {
  values <- unlist(values, use.names = FALSE)
  if (!length(values)) return(list())
  if (is.factor(values)) values <- as.character(values)
  if (!(is.character(values) || is.numeric(values) || is.logical(values)) ||
      anyNA(values) || (is.numeric(values) && any(!is.finite(values)))) {
    stop(where, ": values are strings, finite numbers or TRUE/FALSE", call. = FALSE)
  }
  as.list(values)
}

#' Group by these columns (added to any already named).
#' @param spec A spec from [medler_spec()].
#' @param ... Column names.
spec_by <- function(spec, ...) {
  columns <- c(...)
  if (!length(columns)) stop("spec_by() needs at least one column", call. = FALSE)
  for (column in columns) .check_column(column, "spec_by()")
  spec$group_by <- c(spec$group_by, columns)
  .check_spec(spec)
}

.filter <- function(spec, column, op, values = list()) {
  .check_column(column, paste0("a `", op, "` filter"))
  filter <- list(column = column, op = op)
  if (length(values)) filter$values <- values
  spec$filters <- c(spec$filters, list(filter))
  .check_spec(spec)
}

#' Keep rows whose `column` is one of the values given.
#' @param spec A spec.
#' @param column A column of the table.
#' @param ... Values, or vectors of them: `spec_where_in(s, "grade", 7, 8)` or `c(7, 8)`.
spec_where_in <- function(spec, column, ...) {
  values <- .scalars(list(...), paste("filter on", column))
  if (!length(values)) {
    stop("spec_where_in(\"", column, "\") needs at least one value", call. = FALSE)
  }
  .filter(spec, column, "in", values)
}

#' Keep rows whose `column` lies between `low` and `high`, both inclusive.
#' @param spec A spec.
#' @param column A column of the table.
#' @param low,high The bounds; `low` is the lower.
spec_where_between <- function(spec, column, low, high) {
  values <- .scalars(list(low, high), paste("filter on", column))
  if (length(values) != 2) {
    stop("a between filter on ", column, " takes two values", call. = FALSE)
  }
  if (values[[1]] > values[[2]]) {
    stop("between ", values[[1]], " and ", values[[2]], ": the first is the lower bound",
         call. = FALSE)
  }
  .filter(spec, column, "between", values)
}

#' Keep rows where the flag `column` is true.
#' @param spec A spec.
#' @param column A flag of the table.
spec_where_true <- function(spec, column) .filter(spec, column, "is_true")

#' Keep rows where the flag `column` is false.
#' @param spec A spec.
#' @param column A flag of the table.
spec_where_false <- function(spec, column) .filter(spec, column, "is_false")

.measure <- function(spec, kind, column = NULL, q = NULL, numerator = NULL,
                     denominator = NULL) {
  measure <- list(kind = kind)
  if (kind == "ratio") {
    measure$numerator <- .check_column(numerator, "a ratio's numerator")
    measure$denominator <- .check_column(denominator, "a ratio's denominator")
  } else if (!kind %in% .counts) {
    measure$column <- .check_column(column, kind)
  }
  if (kind == "quantile") {
    if (!is.numeric(q) || length(q) != 1 || !is.finite(q) || q <= 0 || q >= 1) {
      stop("a quantile's q is strictly between 0 and 1", call. = FALSE)
    }
    measure$q <- q
  }
  spec$measures <- c(spec$measures, list(measure))
  .check_spec(spec)
}

#' Distinct pupils per cell.
#' @param spec A spec.
spec_count_students <- function(spec) .measure(spec, "count_students")

#' Distinct teachers behind each cell.
#' @param spec A spec.
spec_count_teachers <- function(spec) .measure(spec, "count_teachers")

#' The share of persons for whom the flag `column` is true.
#' @param spec A spec.
#' @param column A flag of the table.
spec_share <- function(spec, column) .measure(spec, "share", column)

#' The sum of a bounded measure column.
#' @param spec A spec.
#' @param column A measure of the table.
spec_sum <- function(spec, column) .measure(spec, "sum", column)

#' The mean of a bounded measure column over persons.
#' @param spec A spec.
#' @param column A measure of the table.
spec_mean <- function(spec, column) .measure(spec, "mean", column)

#' The `q`-quantile (0 < q < 1) of a bounded measure column over persons.
#' @param spec A spec.
#' @param column A measure of the table.
#' @param q The quantile, strictly between 0 and 1.
spec_quantile <- function(spec, column, q) .measure(spec, "quantile", column, q = q)

#' The sum of `numerator` over the sum of `denominator` per cell.
#' @param spec A spec.
#' @param numerator,denominator Two measures of the table.
spec_ratio <- function(spec, numerator, denominator) {
  .measure(spec, "ratio", numerator = numerator, denominator = denominator)
}

#' Split each cell by the published band of `column` its rows fall in (a key column
#' `<column>_band`): counts per band make a histogram.
#' @param spec A spec.
#' @param column A measure with published bands.
spec_histogram <- function(spec, column) {
  spec$bands <- .check_column(column, "spec_histogram()")
  .check_spec(spec)
}

#' Differentially private, spending `rho` (zero-concentrated DP) of the budget.
#' @param spec A spec.
#' @param rho The privacy loss, above 0.
spec_dp <- function(spec, rho) {
  spec$mode <- "dp"
  spec$rho <- rho
  .check_spec(spec)
}

#' Exact figures under disclosure control (the default); costs no budget.
#' @param spec A spec.
spec_sdc <- function(spec) {
  spec$mode <- "sdc"
  spec["rho"] <- list(NULL)
  .check_spec(spec)
}

#' Counts of pupils perturbed by the cell-key method; costs no budget.
#' @param spec A spec.
spec_ckm <- function(spec) {
  spec$mode <- "ckm"
  spec["rho"] <- list(NULL)
  .check_spec(spec)
}

#' sdc and ckm only: add totals over each group-by column and the grand total ("all").
#' @param spec A spec.
#' @param margins `TRUE` to add them, `FALSE` to drop them again.
spec_with_margins <- function(spec, margins = TRUE) {
  if (!isTRUE(margins) && !isFALSE(margins)) {
    stop("margins is TRUE or FALSE", call. = FALSE)
  }
  spec$margins <- margins
  .check_spec(spec)
}

.measure_name <- function(measure) {
  kind <- measure$kind
  if (identical(kind, "ratio")) {
    return(paste0("ratio_", measure$numerator, "_", measure$denominator))
  }
  if (is.null(measure$column)) return(kind)
  if (identical(kind, "quantile") && !is.null(measure$q)) {
    return(paste0("quantile_", sprintf("%g", measure$q), "_", measure$column))
  }
  paste0(kind, "_", measure$column)
}

#' The measures' columns in a released table, in order: `count_students`,
#' `mean_days_absent`, `quantile_0.5_days_absent`, `ratio_certified_minutes_minutes`.
#' @param spec A spec, or a spec as a list (as a release returns it).
spec_measure_names <- function(spec) {
  vapply(spec$measures, .measure_name, character(1))
}

.key_names <- function(spec) {
  bands <- spec$bands
  c(unlist(spec$group_by), if (!is.null(bands)) paste0(bands, "_band"))
}

#' The spec as the JSON object the service takes, as an R list.
#' @param spec A spec from [medler_spec()], or such a list already.
spec_to_list <- function(spec) {
  if (is.list(spec) && !inherits(spec, "medler_spec")) {
    if (is.null(spec$table)) stop("a spec names its table", call. = FALSE)
    return(spec)
  }
  .check_spec(spec)
  if (!length(spec$measures)) {
    stop("a spec needs at least one measure: spec_count_students(), spec_mean(column), ...",
         call. = FALSE)
  }
  out <- list(table = spec$table, measures = spec$measures)
  if (length(spec$group_by)) out$group_by <- as.list(spec$group_by)
  if (length(spec$filters)) out$filters <- spec$filters
  out$mode <- spec$mode
  if (!is.null(spec$rho)) out$rho <- spec$rho
  if (isTRUE(spec$margins)) out$margins <- TRUE
  if (!is.null(spec$bands)) out$bands <- spec$bands
  out
}

print.medler_spec <- function(x, ...) {
  cat("<medler spec>\n")
  body <- tryCatch(jsonlite::toJSON(spec_to_list(x), auto_unbox = TRUE, digits = NA,
                                    pretty = TRUE),
                   error = function(e) paste("(incomplete:", conditionMessage(e), ")"))
  cat(body, "\n", sep = "")
  invisible(x)
}
