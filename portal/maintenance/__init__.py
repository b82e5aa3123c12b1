"""Preventive maintenance: plans per asset or model, usage readings, tickets made ahead."""
