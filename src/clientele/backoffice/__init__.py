"""The back office on the web: customer 360, programme dashboard, segments, roles and the audit log.

Pages are composed of panels that each capability contributes through one registry
(`backoffice.panels`); the views check the role and compose them.
"""
