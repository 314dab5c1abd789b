"""Core of the GPT-4.1-mini playground: pure Python, no Streamlit (enforced by ruff's banned-api rule)."""
