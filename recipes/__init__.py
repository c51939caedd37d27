"""The built-in steps, one folder each, named as in the recipe file: settings, plan, facts, teaching and
templates side by side. They are found through the `deploy_wizard.steps` entry points in pyproject.toml,
never imported by name; a step imports only wizard.engine and recipes.shared, never another step."""
