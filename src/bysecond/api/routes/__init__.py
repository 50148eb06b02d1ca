"""One router per resource; each route calls a service and shapes its answer."""
