from django.urls import path

from comparison.channels_seed.views import order_create

urlpatterns = [path("orders/", order_create)]
