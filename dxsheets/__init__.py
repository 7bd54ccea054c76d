"""dxsheets: run a city hall's DX working-group survey loop through Excel."""

__version__ = "0.1.0"
