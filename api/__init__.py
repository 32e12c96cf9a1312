"""The HTTP service: FastAPI app, routers, schemas and the staff web page."""
