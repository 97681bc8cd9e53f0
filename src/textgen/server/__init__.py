"""The service side: servicers for every service of the contract over a pluggable Engine."""
