"""The work behind long-running operations: tuning and batch completion runners."""
