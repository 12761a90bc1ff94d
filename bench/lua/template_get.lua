-- GET /api/v1/templates/{templateid}, random ids from the seeded templates.
dofile("common.lua")
request = template_get
