"""What every part of Shelf stands on, free of Flask: errors, database, fields, pagination,
concurrency, Redis, rate limiting and the response cache's store. Nothing here touches a request.
"""
