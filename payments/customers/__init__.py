"""Saved payment methods: an API client's customers and the cards stored on them in Braintree's vault."""
