"""Agente: a virtual receptionist for hotels."""
