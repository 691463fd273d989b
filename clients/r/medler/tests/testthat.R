# R CMD check runs this; tests/api/test_r_client.py in the medler repository runs the same
# tests against the dummy service (medler serve --dummy).
library(testthat)
library(medler)

test_check("medler")
