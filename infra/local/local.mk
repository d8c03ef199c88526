# Local AWS stack targets. Include from the top-level Makefile:
#     include infra/local/local.mk
# Ports: make stack-up DYNAMODB_PORT=8001 MOTO_PORT=5001 (exported to the scripts).
LOCAL_STACK_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

export DYNAMODB_PORT MOTO_PORT

.PHONY: local-install stack-up stack-down validate-template

local-install:      ## install DynamoDB Local, moto, SAM CLI + cfn-lint into .local/
	$(LOCAL_STACK_DIR)/install.sh

stack-up:           ## start DynamoDB Local + moto in the background (idempotent)
	$(LOCAL_STACK_DIR)/stack-up.sh

stack-down:         ## stop what stack-up started (pid files only)
	$(LOCAL_STACK_DIR)/stack-down.sh

validate-template:  ## sam validate + sam validate --lint (TEMPLATE=path to override)
	$(LOCAL_STACK_DIR)/validate-template.sh $(TEMPLATE)
