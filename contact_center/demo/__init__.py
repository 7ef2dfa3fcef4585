"""The demo: an organisation, its users, customers and tickets (`manage.py seed_demo`)."""
