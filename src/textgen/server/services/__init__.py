"""One servicer per service of the contract, plus google.longrunning.Operations."""
