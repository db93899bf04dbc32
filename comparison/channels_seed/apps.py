from django.apps import AppConfig


class ChannelsSeedConfig(AppConfig):
    name = "comparison.channels_seed"
    label = "channels_seed"
