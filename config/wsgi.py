import os

from django.core.wsgi import get_wsgi_application

from payments.http.middleware import RefuseUndecodableRequests

# A process started without DJANGO_SETTINGS_MODULE is a production process: production settings
# refuse to start on development fallbacks instead of silently running on them (the cookiecutter
# habit; manage.py alone defaults to local). `make run` and the harnesses set it explicitly.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# Some requests crash Django while it builds the request object, before any of its middleware;
# the wrapper answers them with a 400 (payments/http/middleware.py).
application = RefuseUndecodableRequests(get_wsgi_application())
