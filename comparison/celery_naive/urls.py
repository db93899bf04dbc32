from django.urls import path

from comparison.celery_naive.views import order_create

urlpatterns = [path("orders/", order_create)]
