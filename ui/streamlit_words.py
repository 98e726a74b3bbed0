"""Streamlit's own English words on the page, written in the reader's language from the translation table.

Streamlit has no locale: its file uploaders say "Upload", "20MB per file" and, while files are dragged over
them, "Drag and drop files here"; a file's chip gives its size in English units ("12.3KB") and a refused
file "Error: application/pdf files are not allowed."; a download that fails says "Failed to generate file
for download"; a required select box's label ends in "(required)". None of these is a parameter. A style
sheet sent with the page hides each of them and shows the table's words in its place (CSS `::after`
content), selected by the elements' `data-testid`, which Streamlit keeps stable for its own tests, rather
than by generated class names. Nothing is fetched.

What the style sheet cannot reach: the tooltip a refused chip shows on hover (drawn elsewhere in the
page, with no test id), and the screen reader's labels ("Remove a.json", "Add files").
"""

from __future__ import annotations

import streamlit as st

from ui import components as ui

ZONE = '[data-testid="stFileUploaderDropzone"]'
#: Where each replaced text sits, for the style sheet and the browser test that reads it back.
BUTTON = f"{ZONE} button [data-testid='stMarkdownContainer']"
LIMIT = f"{ZONE} [data-testid='stFileUploaderDropzoneInstructions'] > div"
#: The layer drawn over a zone while files are dragged over it: the zone's only untagged div holding a span.
DRAG = f"{ZONE} > div:not([data-testid]) > span:only-child"
CHIP_SIZE = '[data-testid="stFileChip"] [data-testid="stFileChipName"] + *'
CHIP_ERROR = '[data-testid="stFileChip"] [role="alert"]'
DOWNLOAD_ERROR = '[data-testid="stDownloadButtonError"]'
#: "(required)" after a required widget's label: the form marks every required field its own way ("Filière *").
REQUIRED = '[data-testid="stWidgetLabelRequired"]'


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def words() -> dict[str, str]:
    """{where: the words shown there}, in this run's language."""
    return {
        BUTTON: ui.tr("ui.upload.button"),
        LIMIT: ui.tr("ui.upload.limit", mb=ui.MAX_UPLOAD_MB),
        DRAG: ui.tr("ui.upload.drag"),
        CHIP_ERROR: ui.tr("ui.upload.refused"),
        DOWNLOAD_ERROR: ui.tr("ui.download.error"),
    }


def style() -> None:
    """Send the style sheet; call once per run, before the pages draw (it applies to every element)."""
    rules = [
        # the button's and the limit's own text sit in a child element: hidden outright
        f"{BUTTON} > p, {LIMIT} > span {{display: none}}",
        # the others are text nodes of the element itself: it keeps its box, its own text takes no room
        f"{DRAG}, {CHIP_ERROR}, {DOWNLOAD_ERROR} {{font-size: 0; visibility: hidden}}",
        f"{DRAG}::after, {CHIP_ERROR}::after, {DOWNLOAD_ERROR}::after {{font-size: 0.875rem; visibility: visible}}",
        # a size in Streamlit's units and decimal point; the name beside it is what identifies the file
        f"{CHIP_SIZE} {{display: none}}",
        f"{REQUIRED} {{display: none}}",
    ]
    rules += [f"{where}::after {{content: {_css_string(text)}}}" for where, text in words().items()]
    st.html("<style>" + "\n".join(rules) + "</style>")
