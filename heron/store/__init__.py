"""Store: the database tables, migrations, the blob store and the repositories.

Every arrow of the flow is a committed change here, so a worker that dies between two
steps is replaced by another that picks the work up from the store.
"""
