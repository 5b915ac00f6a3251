"""Collection message templates (Jinja2) and the content rules they must pass to load and to render.

Entry points: ``load_templates`` (load and check every template, all problems together),
``render`` (render a shipped template with the render-time checks). See README.md.
"""

from arrears.templates.content_rules import Finding
from arrears.templates.front_matter import TemplateMeta
from arrears.templates.loader import (
    LoadedTemplate,
    TemplateSet,
    default_templates,
    load_templates,
    render,
)

__all__ = [
    "Finding",
    "LoadedTemplate",
    "TemplateMeta",
    "TemplateSet",
    "default_templates",
    "load_templates",
    "render",
]
