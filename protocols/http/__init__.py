"""The vendor HTTP facade: Chinese SMS vendors' APIs on the same core as SMPP and CMPP.

One module per vendor dialect (``zrwinfo``, ``juxiang``, ``caih``, ``chuangrui``) turns that
vendor's requests into ``smsc.sends`` calls and renders its responses and push bodies;
``common`` holds request decoding and Beijing-time helpers, ``push`` delivers status reports
and MO to customers' URLs through the durable outbox, ``app`` assembles the aiohttp apps.
"""
