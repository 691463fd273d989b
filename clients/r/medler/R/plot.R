# A released table as a chart, with base graphics: the first key along the x axis, each value
# as a point (or a bar for counts and sums) with its 95 % interval in dp mode; a suppressed
# cell is a gap marked with a grey cross, never a zero; margins ("all") are left out.

#' Plot one measure of a released table, each dp value with its 95 % interval.
#'
#' @param result A released `medler_result` (from [submit()] or [release()]).
#' @param measure The measure's column (by default the first measure).
#' @param ... Passed on to [graphics::plot()] (`main`, `ylab`, ...).
#' @return The table drawn (without margins), invisibly.
plot_release <- function(result, measure = NULL, ...) {
  if (!inherits(result, "medler_result") || !identical(result$status, "released")) {
    stop("plot_release() draws a released table; a held request has none yet", call. = FALSE)
  }
  names <- spec_measure_names(result$spec)
  measure <- measure %||% names[[1]]
  if (!measure %in% names) {
    stop("no measure ", measure, " in this release; one of ", paste(names, collapse = ", "),
         call. = FALSE)
  }
  keys <- .key_names(result$spec)
  table <- result$table
  for (key in keys) table <- table[as.character(table[[key]]) != .MARGIN, , drop = FALSE]
  labels <- if (length(keys)) as.character(table[[keys[[1]]]]) else rep("all", nrow(table))
  x <- seq_len(nrow(table))
  value <- table[[measure]]
  lower <- table[[paste0(measure, "_lower")]] %||% value
  upper <- table[[paste0(measure, "_upper")]] %||% value
  span <- range(c(0, lower, upper), na.rm = TRUE, finite = TRUE)
  dummy <- if (identical(result$data_label, "dummy")) " - DUMMY DATA" else ""
  rho <- if (result$mode == "dp") sprintf(", rho %g", result$rho) else ""
  graphics::plot(x, value, xaxt = "n", pch = 19, ylim = span,
                 xlim = c(0.5, max(1, length(x)) + 0.5), xlab = keys[1] %||% "",
                 ylab = measure,
                 main = sprintf("%s: %s (%s%s)%s", result$spec$table, measure, result$mode,
                                rho, dummy), ...)
  graphics::axis(1, at = x, labels = labels)
  shown <- !is.na(lower) & !is.na(upper) & upper > lower
  if (any(shown)) {
    graphics::arrows(x[shown], lower[shown], x[shown], upper[shown], angle = 90, code = 3,
                     length = 0.05)
  }
  gaps <- is.na(value)
  if (any(gaps)) {
    graphics::points(x[gaps], rep(span[[1]], sum(gaps)), pch = 4, col = "grey50", cex = 1.5)
    graphics::legend("topright", legend = "suppressed", pch = 4, col = "grey50", bty = "n")
  }
  invisible(table)
}
