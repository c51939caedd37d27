"""`deploy-wizard learn`: the steps as exercises, graded by the steps' own plan, meanings and checks."""
