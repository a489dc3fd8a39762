"""groupbuy: headless multi-tenant community group-buying."""
