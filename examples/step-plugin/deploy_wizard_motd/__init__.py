"""An example step package for deploy-wizard: the login message."""
