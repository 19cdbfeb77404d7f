"""tsfmicro_lite.assignments"""
