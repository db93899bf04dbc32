"""The page-number pagination of the API's lists, with the `page` parameter read as its schema says.

DRF's PageNumberPagination reads `?page=` (empty) as the first page and `?page=last` as the last
one, while the schema declares `page` an integer: here anything but digits is the documented 404
("Invalid page."), as a number past the last page already is.
"""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination


class StrictPageNumberPagination(PageNumberPagination):
    last_page_strings = ()

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if not (raw.isascii() and raw.isdigit()):
            raise NotFound(self.invalid_page_message.format(page_number=raw, message="not a page number"))
        return raw
