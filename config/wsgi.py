import os

from django.core.wsgi import get_wsgi_application

# A process started without DJANGO_SETTINGS_MODULE is a production process: production settings
# refuse to start on development fallbacks instead of silently running on them (the cookiecutter
# habit; manage.py alone defaults to local). `make run` and the harnesses set it explicitly.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()
