"""The 1C "exchange with websites" server (aiohttp) and its storage."""
