"""Intake's HTTP routers, one per channel."""

from intake.endpoints import hotline, iot, open311, patrol, reports, video, wechat

ROUTERS = [hotline.router, patrol.router, video.router, wechat.router, iot.router, open311.router, reports.router]
