"""Synthetic reports with known true values, rendered like the real ones (QUIRKS.md).

* ``synth.model``: ``SyntheticReport`` and ``random_report`` (identities A–D hold; E across years).
* ``synth.render``: ``render(report, layout, rng, quirks) -> bytes`` for text/cells, text/pipes, text/tabs.
* ``synth.quirks``: ``Quirks``, the switches for what real reports do to their text.
* ``synth.corpus``: ``write_corpus`` (a data/raw folder + manifest.csv) and ``expected_json``.
* ``synth.verify``: ``mismatches`` between an extraction and the truth.
* ``synth.scale``: ``write_scale_corpus`` (N reports in a mix of formats, on worker processes)
  and ``corpus_truths`` (their truth, re-made without rendering).
* ``synth.pdf_template``: fast PDFs, a LibreOffice base document per template and style with each
  report's values laid into its content streams.
"""
