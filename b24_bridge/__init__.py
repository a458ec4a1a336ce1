"""The Bitrix24 side of the exchange node."""
