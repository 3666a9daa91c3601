"""Slack surface: a Bolt app (buttons + `/incident`) mounted at `/slack/events`.

Construct with `build_slack_app(settings, actions, users)` and mount `slack_router(app)`.
"""
