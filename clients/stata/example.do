* medler: a released table in Stata.
*
* Stata reads a medler release as CSV, one row per cell: the group-by columns, the cell's
* status, each measure and, for a dp release, its 95 % interval (<measure>_lower and
* <measure>_upper). This do-file reads the release of example-spec.json beside it (pupils
* and mean days absent by grade, differentially private), so submit that spec first, with
* the R or Python client, and note the release id it gives.
*
* Download the release as CSV from a shell in which MEDLER_URL and MEDLER_TOKEN are set, so
* that the token is never written in a do-file or a log (or use download() in R, or
* Client.download() in Python):
*
*   curl --fail --silent --show-error -H "Authorization: Bearer $MEDLER_TOKEN" \
*     -o release.csv "$MEDLER_URL/v1/releases/<release_id>/download?format=csv"
*
* Then, in Stata:   do example.do release.csv

version 16
args csv
if `"`csv'"' == "" local csv "release.csv"

import delimited using `"`csv'"', varnames(1) case(preserve) encoding("utf-8") clear

* the columns the release has (a different spec gives other columns: adapt the names below)
confirm variable grade status count_students count_students_lower count_students_upper mean_days_absent mean_days_absent_lower mean_days_absent_upper
confirm string variable status
confirm numeric variable grade count_students count_students_lower count_students_upper mean_days_absent mean_days_absent_lower mean_days_absent_upper

label variable grade "Grade"
label variable count_students "Pupils (differentially private)"
label variable mean_days_absent "Mean days absent (differentially private)"
label variable mean_days_absent_lower "Mean days absent, 95 % interval, lower"
label variable mean_days_absent_upper "Mean days absent, 95 % interval, upper"

* a suppressed cell has no values (missing, never zero); report each value with its interval
count if status != "released"
list grade status count_students count_students_lower count_students_upper, noobs clean
list grade mean_days_absent mean_days_absent_lower mean_days_absent_upper, noobs clean

twoway (rcap mean_days_absent_lower mean_days_absent_upper grade) (scatter mean_days_absent grade), ytitle("Mean days absent") xtitle("Grade") legend(order(2 "value" 1 "95 % interval")) title("Mean days absent by grade (dp)")
graph export "mean-days-absent.png", replace
