"""components/presenting.py reads the URL on every page without loading the demo player, so it
names the query parameters itself: they must be the demo core's."""

from components.presenting import PRESENT_PARAM, SHARE_PARAM
from playground.demo.links import SHARE_QUERY_PARAM
from playground.demo.presentation import PRESENT_QUERY_PARAM


def test_the_page_reads_the_same_query_parameters_the_core_writes():
    assert (PRESENT_PARAM, SHARE_PARAM) == (PRESENT_QUERY_PARAM, SHARE_QUERY_PARAM)
