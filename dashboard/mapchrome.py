"""What every dashboard map carries besides its layers: a metric scale and a plain credit."""

from __future__ import annotations

from branca.element import MacroElement
from jinja2 import Template

# Leaflet's own credit without the flag its 1.9 prefix draws beside it
PREFIX = '<a href="https://leafletjs.com" title="Leaflet">Leaflet</a>'


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres only (the Chinese desk has no use for feet) and the
    attribution's prefix as plain text."""

    _template = Template("""{% macro script(this, kwargs) %}
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        if ({{ this._parent.get_name() }}.attributionControl) {
            {{ this._parent.get_name() }}.attributionControl.setPrefix({{ this.prefix|tojson }});
        }
    {% endmacro %}""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"
        self.prefix = PREFIX
