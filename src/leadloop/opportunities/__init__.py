"""Opportunities: conversion from a lead, contact roles, stage history (issue 15, ADR 0035)."""
