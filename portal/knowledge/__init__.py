"""The knowledge base in the portal: search API, answer feedback, editors' pages."""
