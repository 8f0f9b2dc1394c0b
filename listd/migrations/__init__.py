"""Alembic's script directory: env.py, the template and versions/, shipped inside the package."""
