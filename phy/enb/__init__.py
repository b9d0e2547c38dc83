"""The eNodeB's uplink receive procedures (srsRAN's enb_ul): PUSCH (pusch_rx), PRACH (prach_rx) and
PUCCH (pucch_rx) detection and decoding from one demodulated uplink subframe."""
